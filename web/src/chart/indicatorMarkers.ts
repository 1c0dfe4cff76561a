/**
 * Candlestick patterns as markers on the candles (pure). TA-Lib's CDL* functions answer per bar
 * +100 (bullish), -100 (bearish) or 0 (none), some ±200 for a confirmed pattern: bullish ones are
 * an arrow up below the bar, bearish ones an arrow down above it, confirmed ones larger.
 */
import type { SeriesMarker, UTCTimestamp } from "lightweight-charts";

import type { IndicatorLine } from "./indicatorLayout";
import { loadedValue, type ValueOf } from "./indicators";
import type { Bar } from "./series";

/** The marker of one pattern value, or `null` for none. */
export function patternMarker(ts: number, value: number | null, color: string): SeriesMarker<UTCTimestamp> | null {
  if (value === null || value === 0) return null;
  const time = Math.floor(ts / 1000) as UTCTimestamp;
  const size = Math.abs(value) > 100 ? 2 : 1;
  return value > 0 ? { time, position: "belowBar", shape: "arrowUp", color, size } : { time, position: "aboveBar", shape: "arrowDown", color, size };
}

/** The markers of every pattern line over `bars`, in time order (as lightweight-charts needs them). */
export function patternMarkers(bars: readonly Bar[], lines: readonly Pick<IndicatorLine, "column" | "color">[], valueOf: ValueOf = loadedValue): SeriesMarker<UTCTimestamp>[] {
  const markers: SeriesMarker<UTCTimestamp>[] = [];
  for (const bar of bars) {
    for (const line of lines) {
      const marker = patternMarker(bar.ts, valueOf(bar, line.column.key), line.color);
      if (marker !== null) markers.push(marker);
    }
  }
  return markers;
}
