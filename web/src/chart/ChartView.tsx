/** The chart's container (which the chart hook draws into), its status overlay and the crosshair strip. */
import { bucketMs } from "../state/timeframe";
import { CrosshairStrip } from "./CrosshairStrip";
import type { ChartHandles } from "./useChart";
import type { SliceState } from "./useChartSlices";

interface Props {
  containerRef: (element: HTMLDivElement | null) => void;
  handles: ChartHandles | null;
  slice: SliceState;
  timeframe: string;
  empty: string | null;
}

export function ChartView({ containerRef, handles, slice, timeframe, empty }: Props) {
  const width = bucketMs(slice.bucket) ?? bucketMs(timeframe) ?? 86_400_000;
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
        />
        {slice.loading ? <div className="chart-loading" aria-live="polite">Loading…</div> : null}
        {slice.error !== null ? (
          <div className="chart-message error-text" role="alert" data-testid="chart-error">
            {slice.error}
          </div>
        ) : empty !== null ? (
          <div className="chart-message muted">{empty}</div>
        ) : null}
      </div>
      <CrosshairStrip handles={handles} lastBar={slice.lastBar} bucketMs={width} />
    </div>
  );
}
