/** Below the chart: the time and O H L C V of the bar under the crosshair (else the last bar). */
import { formatBarTime, formatCompact, formatPrice, MARKET_TZ_LABEL } from "./time";
import type { Bar } from "./series";
import type { CrosshairBar } from "./useCrosshairBar";

interface Props {
  /** The bar under the crosshair (`useCrosshairBar`). */
  hovered: CrosshairBar | null;
  lastBar: Bar | null;
  bucketMs: number;
}

export function CrosshairStrip({ hovered, lastBar, bucketMs }: Props) {
  const bar =
    hovered ??
    (lastBar === null
      ? null
      : { timeSec: Math.floor(lastBar.ts / 1000), open: lastBar.open, high: lastBar.high, low: lastBar.low, close: lastBar.close, volume: lastBar.volume });
  const up = bar !== null && bar.close >= bar.open;
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
    </div>
  );
}
