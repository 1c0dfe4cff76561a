import { describe, expect, it } from "vitest";

import type { Dataset } from "../../api/types";
import { datasetBounds, filterDatasets, sortDatasets } from "./model";

function dataset(over: Partial<Dataset>): Dataset {
  return {
    table: "aapl_1_day",
    symbol: "AAPL",
    timespan: "day",
    multiplier: 1,
    adjusted: true,
    source: "polygon",
    total_records: 250,
    date_range: { from: "2024-01-01", to: "2024-12-31" },
    first_bar: "2024-01-02T05:00:00Z",
    last_bar: "2024-12-31T05:00:00Z",
    created_at: "2025-01-01T00:00:00Z",
    updated_at: "2025-01-01T00:00:00Z",
    last_accessed: null,
    ...over,
  };
}

describe("datasets", () => {
  const list = [
    dataset({ table: "spy_1_minute", symbol: "SPY", timespan: "minute", source: "synthetic" }),
    dataset({}),
    dataset({ table: "aapl_5_minute", timespan: "minute", multiplier: 5 }),
  ];

  it("filters by every word", () => {
    expect(filterDatasets(list, "aapl").map((d) => d.table)).toEqual(["aapl_1_day", "aapl_5_minute"]);
    expect(filterDatasets(list, "minute synth").map((d) => d.table)).toEqual(["spy_1_minute"]);
    expect(filterDatasets(list, "  ")).toHaveLength(3);
  });

  it("orders by symbol then bar width", () => {
    expect(sortDatasets(list).map((d) => d.table)).toEqual(["aapl_5_minute", "aapl_1_day", "spy_1_minute"]);
  });

  it("spans first bar to the end of the last bar", () => {
    expect(datasetBounds(dataset({}))).toEqual({ fromMs: Date.UTC(2024, 0, 2, 5), toMs: Date.UTC(2025, 0, 1, 5) });
    expect(datasetBounds(dataset({ first_bar: null, last_bar: null }))).toEqual({ fromMs: Date.UTC(2024, 0, 1), toMs: Date.UTC(2025, 0, 1) });
    expect(datasetBounds(dataset({ first_bar: null, last_bar: null, date_range: { from: "x", to: "y" } }))).toBeNull();
  });
});
