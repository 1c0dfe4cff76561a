/** The chart's container (which the chart hook draws into), its status overlay and the crosshair strip. */
import type { ReactNode } from "react";

import { CrosshairStrip } from "./CrosshairStrip";
import { loadedValue } from "./indicators";
import type { IndicatorLines } from "./useIndicatorLines";
import type { CrosshairBar } from "./useCrosshairBar";
import type { SliceState } from "./useChartSlices";

interface Props {
  containerRef: (element: HTMLDivElement | null) => void;
  hovered: CrosshairBar | null;
  slice: SliceState;
  /** Width of the bars shown, ms. */
  bucketMs: number;
  empty: string | null;
  /** Bars the dataset holds (its `total_records`), to tell an empty dataset from an empty window. */
  storedBars?: number | null;
  /** Indicator outputs drawn (`useIndicatorLines`). */
  indicators?: IndicatorLines;
  /** Shown over the chart (the projections' legend). */
  overlay?: ReactNode;
}

const NO_INDICATORS: IndicatorLines = { lines: [], shortfalls: [], valueOf: loadedValue };

/** What the chart says when the slice the server answered holds no bars; `null` while it has bars or none was answered. */
export function noBarsMessage(slice: SliceState, storedBars: number | null): string | null {
  // `bucket` is set once the server has answered for this dataset (as `data-bucket` tells the browser tests).
  if (slice.loading || slice.error !== null || slice.bucket === null || slice.bars > 0) return null;
  return storedBars === 0 ? "No bars stored in this dataset." : "No bars in this window.";
}

export function ChartView({ containerRef, hovered, slice, bucketMs, empty, storedBars = null, indicators = NO_INDICATORS, overlay = null }: Props) {
  const first = slice.data[0];
  const message = empty ?? noBarsMessage(slice, storedBars);
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
          data-indicators={indicators.lines.map((line) => line.column.key).join(" ")}
        />
        {overlay}
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
        ) : message !== null ? (
          <div className="chart-message muted" data-testid="chart-empty">
            {message}
          </div>
        ) : null}
      </div>
      <CrosshairStrip
        hovered={hovered}
        lastBar={slice.lastBar}
        bucketMs={bucketMs}
        lines={indicators.lines}
        bars={slice.data}
        valueOf={indicators.valueOf}
        shortfalls={indicators.shortfalls}
      />
    </div>
  );
}
