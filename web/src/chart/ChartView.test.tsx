// The chart pane's overlay: an empty slice says so in the chart itself, without touching the chart's test attributes.
import { renderToString } from "react-dom/server";
import { describe, expect, it } from "vitest";

import { ChartView, noBarsMessage } from "./ChartView";
import type { SliceState } from "./useChartSlices";

/** A slice the server answered with no bars (as for an empty dataset). */
const EMPTY_SLICE: SliceState = {
  bars: 0,
  data: [],
  bucket: "1d",
  timeframe: "1d",
  adjusted: true,
  loading: false,
  extending: null,
  error: null,
  truncated: false,
  rows: 0,
  sourceSeries: null,
  lastBar: null,
  indicators: [],
  indicatorSpecs: [],
  future: [],
};

const BAR = { ts: 1_704_205_800_000, open: 1, high: 1, low: 1, close: 1, volume: 1, extra: {} };

function render(slice: SliceState, storedBars: number | null, empty: string | null = null): string {
  return renderToString(<ChartView containerRef={() => undefined} hovered={null} slice={slice} bucketMs={86_400_000} empty={empty} storedBars={storedBars} />);
}

describe("noBarsMessage", () => {
  it("tells an empty dataset from an empty window", () => {
    expect(noBarsMessage(EMPTY_SLICE, 0)).toBe("No bars stored in this dataset.");
    expect(noBarsMessage(EMPTY_SLICE, 250)).toBe("No bars in this window.");
    expect(noBarsMessage(EMPTY_SLICE, null)).toBe("No bars in this window.");
  });

  it("says nothing before the server answered, while loading, on an error or with bars", () => {
    expect(noBarsMessage({ ...EMPTY_SLICE, bucket: null, timeframe: null, rows: null }, 0)).toBeNull();
    expect(noBarsMessage({ ...EMPTY_SLICE, loading: true }, 0)).toBeNull();
    expect(noBarsMessage({ ...EMPTY_SLICE, error: "boom" }, 0)).toBeNull();
    const bars = { ...EMPTY_SLICE, bars: 1, data: [BAR], lastBar: BAR };
    expect(noBarsMessage(bars, 0)).toBeNull();
  });
});

describe("ChartView", () => {
  it("shows the empty dataset's message over the chart, keeping the chart's attributes", () => {
    const html = render(EMPTY_SLICE, 0);
    expect(html).toMatch(/data-testid="chart"[^>]*data-bars="0"[^>]*data-bucket="1d"[^>]*data-loading="false"/);
    expect(html).toMatch(/data-testid="chart-empty"[^>]*>No bars stored in this dataset\.</);
    expect(html).not.toContain('data-testid="chart-error"');
  });

  it("shows an empty window's message for a dataset with bars elsewhere", () => {
    expect(render(EMPTY_SLICE, 250)).toMatch(/data-testid="chart-empty"[^>]*>No bars in this window\.</);
  });

  it("shows no message while loading or with bars, and the page's own message first", () => {
    expect(render({ ...EMPTY_SLICE, bucket: null, loading: true }, 0)).not.toContain('data-testid="chart-empty"');
    expect(render({ ...EMPTY_SLICE, bars: 1, data: [BAR], lastBar: BAR }, 250)).not.toContain('data-testid="chart-empty"');
    expect(render(EMPTY_SLICE, 0, "No dataset named “x”.")).toMatch(/data-testid="chart-empty"[^>]*>No dataset named “x”\.</);
  });

  it("shows an error rather than the empty message", () => {
    const html = render({ ...EMPTY_SLICE, error: "This dataset holds no bars yet." }, 0);
    expect(html).toContain('data-testid="chart-error"');
    expect(html).not.toContain('data-testid="chart-empty"');
  });
});
