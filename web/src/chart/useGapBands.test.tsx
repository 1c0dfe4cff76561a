// @vitest-environment jsdom
// The gap report hook against a fake quality endpoint (no chart here: the bands need none to load).
import { type QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterEach, describe, expect, it, vi } from "vitest";

import type { DataQuality, DataQualityReport, Dataset } from "../api/types";
import { createQueryClient } from "../queries/queryClient";
import { type GapBandsState, useGapBands } from "./useGapBands";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const DAY = 86_400_000;

function quality(assessedAt: string): DataQuality {
  return {
    basis: "trading_days", bars: 19, expected: 21, present: 19, coverage: 19 / 21, gaps: 2, missing: 2,
    largest_gaps: [], duplicates_dropped: 0, zero_volume_bars: 0, zero_volume_runs: 0, ohlc_violations: 0,
    ohlc: { high_below_body: 0, low_above_body: 0, high_below_low: 0, non_positive: 0 },
    window_start: "2024-01-02T05:00:00Z", window_end: "2024-01-31T04:59:59.999Z", assessed_at: assessedAt,
  };
}

function dataset(q: DataQuality | null): Dataset {
  return {
    table: "gaps_1_day", symbol: "GAPS", timespan: "day", multiplier: 1, adjusted: true, source: "file", total_records: 19,
    date_range: { from: "2024-01-02", to: "2024-01-30" }, first_bar: null, last_bar: null,
    created_at: "2024-02-01T00:00:00Z", updated_at: "2024-02-01T00:00:00Z", last_accessed: null, quality: q,
  };
}

const json = (body: unknown) => new Response(JSON.stringify(body), { headers: { "Content-Type": "application/json" } });
const settle = () => act(async () => new Promise((r) => setTimeout(r, 10)));

/** A quality endpoint answering with the assessment `current()` names, counting requests. */
function fakeServer(current: () => string) {
  const urls: string[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (url: string) => {
      urls.push(url);
      const report: DataQualityReport = { table: "gaps_1_day", quality: quality(current()), gaps: [{ start: "2024-01-10T05:00:00Z", end: "2024-01-11T05:00:00Z", missing: 1 }], truncated: false };
      return json(report);
    }),
  );
  return urls;
}

let root: Root | null = null;
let client: QueryClient = createQueryClient();
const states: GapBandsState[] = [];

function Harness({ dataset, onAssessed }: { dataset: Dataset | null; onAssessed: (table: string, quality: DataQuality) => void }) {
  states.push(useGapBands(null, dataset, DAY, onAssessed));
  return null;
}

async function render(d: Dataset | null, onAssessed: (table: string, quality: DataQuality) => void): Promise<void> {
  if (root === null) root = createRoot(document.createElement("div"));
  await act(async () =>
    root?.render(
      <QueryClientProvider client={client}>
        <Harness dataset={d} onAssessed={onAssessed} />
      </QueryClientProvider>,
    ),
  );
  await settle();
}

const latest = (): GapBandsState | undefined => states[states.length - 1];

afterEach(async () => {
  await act(async () => root?.unmount());
  root = null;
  client = createQueryClient();
  states.length = 0;
  vi.unstubAllGlobals();
});

describe("useGapBands", () => {
  it("passes on the assessment the server made for a dataset never assessed, and keeps its report when the dataset catches up", async () => {
    const urls = fakeServer(() => "2024-02-01T10:00:00Z");
    const onAssessed = vi.fn();
    await render(dataset(null), onAssessed);
    expect(urls).toHaveLength(1);
    expect(latest()?.report?.quality.gaps).toBe(2);
    expect(onAssessed).toHaveBeenCalledTimes(1);
    expect(onAssessed).toHaveBeenCalledWith("gaps_1_day", quality("2024-02-01T10:00:00Z"));

    // The list now carries that assessment: no second request, and the report (the badge, the bands) stays.
    const before = states.length;
    await render(dataset(quality("2024-02-01T10:00:00Z")), onAssessed);
    expect(urls).toHaveLength(1);
    expect(states.slice(before).every((s) => s.report !== null)).toBe(true);
    expect(onAssessed).toHaveBeenCalledTimes(1);
  });

  it("stays quiet about an assessment the dataset already carries, and loads again after a newer one", async () => {
    let assessedAt = "2024-02-01T10:00:00Z";
    const urls = fakeServer(() => assessedAt);
    const onAssessed = vi.fn();
    await render(dataset(quality(assessedAt)), onAssessed);
    expect(urls).toHaveLength(1);
    expect(latest()?.report).not.toBeNull();
    expect(onAssessed).not.toHaveBeenCalled();

    assessedAt = "2024-02-02T08:00:00Z"; // re-assessed
    await render(dataset(quality(assessedAt)), onAssessed);
    expect(urls).toHaveLength(2);
    expect(latest()?.report?.quality.assessed_at).toBe(assessedAt);
    expect(onAssessed).not.toHaveBeenCalled();
  });

  it("loads nothing without a dataset", async () => {
    const urls = fakeServer(() => "2024-02-01T10:00:00Z");
    await render(null, vi.fn());
    expect(urls).toHaveLength(0);
    expect(latest()).toEqual({ report: null, error: null });
  });
});
