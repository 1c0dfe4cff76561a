/** The chart's container (which the chart hook draws into), its status overlay and the crosshair strip. */
import { CrosshairStrip } from "./CrosshairStrip";
import type { IndicatorLine } from "./indicators";
import type { CrosshairBar } from "./useCrosshairBar";
import type { SliceState } from "./useChartSlices";

interface Props {
  containerRef: (element: HTMLDivElement | null) => void;
  hovered: CrosshairBar | null;
  slice: SliceState;
  /** Width of the bars shown, ms. */
  bucketMs: number;
  empty: string | null;
  /** Indicator outputs drawn (`useIndicatorLines`). */
  indicators?: readonly IndicatorLine[];
}

export function ChartView({ containerRef, hovered, slice, bucketMs, empty, indicators = [] }: Props) {
  const first = slice.data[0];
  return (
    <div className="chart-pane">
      <div className="chart-wrap">
        <div
          ref={containerRef}
          className="chart"
          data-testid="chart"
          data-bars={slice.bars}
          data-bucket={slice.bucket ?? ""}
          data-loading={slice.loading ? "true" : "false"}
          data-extending={slice.extending ?? ""}
          data-first-ts={first?.ts ?? ""}
          data-indicators={indicators.map((line) => line.column.key).join(" ")}
        />
        {slice.loading ? <div className="chart-loading" aria-live="polite">Loading…</div> : null}
        {!slice.loading && slice.extending !== null ? (
          <div className={`chart-extending chart-extending-${slice.extending}`} aria-live="polite">
            {slice.extending === "left" ? "← Loading earlier bars…" : "Loading later bars →"}
          </div>
        ) : null}
        {slice.error !== null ? (
          <div className="chart-message error-text" role="alert" data-testid="chart-error">
            {slice.error}
          </div>
        ) : empty !== null ? (
          <div className="chart-message muted">{empty}</div>
        ) : null}
      </div>
      <CrosshairStrip hovered={hovered} lastBar={slice.lastBar} bucketMs={bucketMs} lines={indicators} bars={slice.data} />
    </div>
  );
}
