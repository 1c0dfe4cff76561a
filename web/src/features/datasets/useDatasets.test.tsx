// @vitest-environment jsdom
// The dataset list hook against a fake API, and the Analysis page's wiring: the chart's gap report
// assessing a dataset never assessed shows in the list and the details pane without another request.
import { QueryClientProvider } from "@tanstack/react-query";
import { act, type ReactElement } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterEach, describe, expect, it, vi } from "vitest";

import type { DataQuality, DataQualityReport, Dataset } from "../../api/types";
import { useGapBands } from "../../chart/useGapBands";
import { createQueryClient } from "../../queries/queryClient";
import { DatasetList } from "./DatasetList";
import { QualityFacts } from "./QualityFacts";
import { type DatasetsState, useDatasets } from "./useDatasets";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const ASSESSED_AT = "2024-02-01T10:00:00Z";
const QUALITY: DataQuality = {
  basis: "trading_days", bars: 19, expected: 21, present: 19, coverage: 19 / 21, gaps: 2, missing: 2,
  largest_gaps: [], duplicates_dropped: 0, zero_volume_bars: 0, zero_volume_runs: 0, ohlc_violations: 0,
  ohlc: { high_below_body: 0, low_above_body: 0, high_below_low: 0, non_positive: 0 },
  window_start: "2024-01-02T05:00:00Z", window_end: "2024-01-31T04:59:59.999Z", assessed_at: ASSESSED_AT,
};

function dataset(table: string, symbol: string): Dataset {
  return {
    table, symbol, timespan: "day", multiplier: 1, adjusted: true, source: "file", total_records: 19,
    date_range: { from: "2024-01-02", to: "2024-01-30" }, first_bar: null, last_bar: null,
    created_at: "2024-02-01T00:00:00Z", updated_at: "2024-02-01T00:00:00Z", last_accessed: null, quality: null,
  };
}

const json = (body: unknown) => new Response(JSON.stringify(body), { headers: { "Content-Type": "application/json" } });
const settle = () => act(async () => new Promise((r) => setTimeout(r, 10)));

/** The tables list (nothing assessed yet) and a quality endpoint that assesses on first request, as the server does. */
function fakeServer() {
  const urls: string[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (url: string) => {
      urls.push(url);
      if (url === "/api/v1/stocks/tables") return json([dataset("zzz_1_day", "ZZZ"), dataset("gaps_1_day", "GAPS")]);
      const report: DataQualityReport = { table: "gaps_1_day", quality: QUALITY, gaps: [], truncated: false };
      return json(report);
    }),
  );
  return urls;
}

let root: Root | null = null;

async function mount(element: ReactElement): Promise<HTMLElement> {
  const el = document.createElement("div");
  root = createRoot(el);
  await act(async () => root?.render(<QueryClientProvider client={createQueryClient()}>{element}</QueryClientProvider>));
  await settle();
  return el;
}

afterEach(async () => {
  await act(async () => root?.unmount());
  root = null;
  vi.unstubAllGlobals();
});

describe("useDatasets", () => {
  it("puts an assessment into the listed dataset at once, without reloading", async () => {
    const urls = fakeServer();
    let state: DatasetsState | null = null;
    function Harness() {
      state = useDatasets();
      return null;
    }
    await mount(<Harness />);
    const current = (): DatasetsState | null => state;
    expect(current()?.datasets?.map((d) => d.symbol)).toEqual(["GAPS", "ZZZ"]); // sorted
    await act(async () => current()?.assessed("gaps_1_day", QUALITY));
    expect(current()?.datasets?.map((d) => d.quality ?? null)).toEqual([QUALITY, null]);
    expect(urls).toEqual(["/api/v1/stocks/tables"]);
  });

  it("shows the assessment the chart's gap report made in the list and the details pane", async () => {
    const urls = fakeServer();
    function Analysis() {
      const { datasets, assessed } = useDatasets();
      const selected = datasets?.find((d) => d.table === "gaps_1_day") ?? null;
      useGapBands(null, selected, 86_400_000, assessed);
      return (
        <>
          {datasets !== null ? <DatasetList datasets={datasets} selected="gaps_1_day" onSelect={() => undefined} /> : null}
          {selected !== null ? <QualityFacts dataset={selected} onAssessed={null} /> : null}
        </>
      );
    }
    const el = await mount(<Analysis />);
    await settle();
    const line = (table: string) => el.querySelector(`[data-table="${table}"] [data-testid="dataset-quality"]`)?.textContent;
    expect(line("gaps_1_day")).toBe("90.4% · 2 gaps");
    expect(line("zzz_1_day")).toBe("not assessed");
    const facts = el.querySelector('[data-testid="quality"]');
    expect(facts?.textContent).not.toContain("Not assessed yet.");
    expect(el.querySelector('[data-testid="quality-coverage"]')?.textContent).toContain("90.4%");
    expect(urls).toEqual(["/api/v1/stocks/tables", "/api/v1/stocks/table/gaps_1_day/quality?limit=20000"]);
  });
});
