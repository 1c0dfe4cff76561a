/**
 * Below the chart: the time, O H L C V and indicator values of the bar under the crosshair (else
 * the last bar).
 */
import { indexOfTime } from "./grid";
import { formatIndicatorValue, type IndicatorLine, linesBySpec } from "./indicators";
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
}

export function CrosshairStrip({ hovered, lastBar, bucketMs, lines = [], bars = [] }: Props) {
  const bar =
    hovered ??
    (lastBar === null
      ? null
      : { timeSec: Math.floor(lastBar.ts / 1000), open: lastBar.open, high: lastBar.high, low: lastBar.low, close: lastBar.close, volume: lastBar.volume });
  const up = bar !== null && bar.close >= bar.open;
  const values = hovered !== null ? bars[indexOfTime(bars, hovered.timeSec * 1000)]?.extra : lastBar?.extra;
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
      {bar !== null && lines.length > 0 ? (
        <span className="strip-indicators" data-testid="crosshair-indicators">
          {linesBySpec(lines).map((group) => (
            <span key={group.spec} className="strip-indicator" data-spec={group.spec} title={group.lines[0]?.column.displayName}>
              <b>{group.spec}</b>
              {group.lines.map((line) => (
                <span key={line.column.key} style={{ color: line.color }} data-testid="crosshair-indicator" data-key={line.column.key} title={line.label}>
                  {formatIndicatorValue(values?.[line.column.key])}
                </span>
              ))}
            </span>
          ))}
        </span>
      ) : null}
    </div>
  );
}
