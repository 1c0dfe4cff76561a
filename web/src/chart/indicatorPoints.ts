/**
 * The data of an indicator output's series (pure): a point per bar (whitespace where it has no
 * value, so times stay aligned with the candles), those before the output is stable drawn faint.
 */
import type { LineData, UTCTimestamp, WhitespaceData } from "lightweight-charts";

import { dimColor } from "./indicatorColors";
import type { IndicatorLine } from "./indicatorLayout";
import { type IndicatorColumn, loadedValue, type ValueOf } from "./indicators";
import type { Bar } from "./series";

export type IndicatorPoint = LineData<UTCTimestamp> | WhitespaceData<UTCTimestamp>;

/**
 * Whether a value at `ts` comes before the output is stable (exponential smoothing not yet
 * settled, or a series too short to settle at all).
 */
export function isUnstable(column: Pick<IndicatorColumn, "stableFrom">, ts: number): boolean {
  return ts < column.stableFrom;
}

/** One bar's point of a line or histogram. */
export function indicatorPoint(bar: Bar, line: Pick<IndicatorLine, "column" | "color">, valueOf: ValueOf = loadedValue): IndicatorPoint {
  const time = Math.floor(bar.ts / 1000) as UTCTimestamp;
  const value = valueOf(bar, line.column.key);
  if (value === null) return { time };
  return isUnstable(line.column, bar.ts) ? { time, value, color: dimColor(line.color) } : { time, value };
}

/** Every bar's point of a line or histogram. */
export function indicatorPoints(bars: readonly Bar[], line: Pick<IndicatorLine, "column" | "color">, valueOf: ValueOf = loadedValue): IndicatorPoint[] {
  return bars.map((bar) => indicatorPoint(bar, line, valueOf));
}
