/**
 * Below the chart: the time, O H L C V and indicator values of the bar under the crosshair (else
 * the last bar), "unstable" by an indicator whose value there comes before it is stable, and why an
 * indicator has no value at all when the series is too short for it.
 */
import { indexOfTime } from "./grid";
import { formatLineValue, type IndicatorLine, linesBySpec } from "./indicatorLayout";
import { isUnstable } from "./indicatorPoints";
import { loadedValue, type ValueOf } from "./indicators";
import type { Shortfall } from "./indicatorShortfall";
import { formatBarTime, formatCompact, formatPrice, MARKET_TZ_LABEL } from "./time";
import type { Bar } from "./series";
import type { CrosshairBar } from "./useCrosshairBar";

interface Props {
  /** The bar under the crosshair (`useCrosshairBar`). */
  hovered: CrosshairBar | null;
  lastBar: Bar | null;
  bucketMs: number;
  /** The indicator outputs drawn (`useIndicatorLines`), whose values are shown. */
  lines?: readonly IndicatorLine[];
  /** The bars on the chart, to find the hovered bar's indicator values. */
  bars?: readonly Bar[];
  /** An output's value at a bar (live values included); the loaded one when absent. */
  valueOf?: ValueOf;
  /** Indicators not drawn because the series is too short for them. */
  shortfalls?: readonly Shortfall[];
}

export function CrosshairStrip({ hovered, lastBar, bucketMs, lines = [], bars = [], valueOf = loadedValue, shortfalls = [] }: Props) {
  const bar =
    hovered ??
    (lastBar === null
      ? null
      : { timeSec: Math.floor(lastBar.ts / 1000), open: lastBar.open, high: lastBar.high, low: lastBar.low, close: lastBar.close, volume: lastBar.volume });
  const up = bar !== null && bar.close >= bar.open;
  const at = hovered !== null ? bars[indexOfTime(bars, hovered.timeSec * 1000)] : (lastBar ?? undefined);
  const value = (line: IndicatorLine): number | null => (at !== undefined ? valueOf(at, line.column.key) : null);
  const unstable = (group: readonly IndicatorLine[]): boolean => at !== undefined && group.some((line) => value(line) !== null && isUnstable(line.column, at.ts));
  return (
    <div className="strip" data-testid="crosshair-strip" data-hovered={hovered !== null ? "true" : "false"}>
      <span className="strip-time" data-testid="crosshair-time">
        {bar !== null ? formatBarTime(bar.timeSec, bucketMs) : "—"}
      </span>
      <span className="tz" title="Times are America/New_York">
        {MARKET_TZ_LABEL}
      </span>
      {bar !== null ? (
        <span className={up ? "ohlc up" : "ohlc down"}>
          <span>
            <b>O</b>
            {formatPrice(bar.open)}
          </span>
          <span>
            <b>H</b>
            {formatPrice(bar.high)}
          </span>
          <span>
            <b>L</b>
            {formatPrice(bar.low)}
          </span>
          <span>
            <b>C</b>
            {formatPrice(bar.close)}
          </span>
          <span>
            <b>V</b>
            {bar.volume !== null ? formatCompact(bar.volume) : "—"}
          </span>
        </span>
      ) : null}
      {(bar !== null && lines.length > 0) || shortfalls.length > 0 ? (
        <span className="strip-indicators" data-testid="crosshair-indicators">
          {bar !== null
            ? linesBySpec(lines).map((group) => (
                <span key={group.spec} className="strip-indicator" data-spec={group.spec} title={group.lines[0]?.column.displayName}>
                  <b>{group.spec}</b>
                  {group.lines.map((line) => (
                    <span key={line.column.key} style={{ color: line.color }} data-testid="crosshair-indicator" data-key={line.column.key} title={line.label}>
                      {formatLineValue(line, value(line))}
                    </span>
                  ))}
                  {unstable(group.lines) ? (
                    <span className="strip-unstable" data-testid="crosshair-unstable" title="Before this bar the indicator has not settled: its values still depend on where the series starts">
                      unstable
                    </span>
                  ) : null}
                </span>
              ))
            : null}
          {shortfalls.map((s) => (
            <span key={s.spec} className="strip-indicator strip-shortfall" data-testid="indicator-shortfall" data-spec={s.spec}>
              {s.text}
            </span>
          ))}
        </span>
      ) : null}
    </div>
  );
}
