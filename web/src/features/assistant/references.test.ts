// Chart references as places on the Analysis page: the dataset picked, the URL written, the evidence drawn.
import { describe, expect, it } from "vitest";

import type { Dataset } from "../../api/types";
import { chartTarget, datasetFor, referenceText, urlSpec } from "./references";
import type { ChartReference } from "./types";

function dataset(table: string, symbol: string, timespan: Dataset["timespan"], adjusted = true): Dataset {
  return {
    table, symbol, timespan, multiplier: 1, adjusted, source: "file", total_records: 100,
    date_range: { from: "2024-01-02", to: "2024-06-28" }, first_bar: null, last_bar: null,
    created_at: "2024-01-01T00:00:00Z", updated_at: "2024-01-01T00:00:00Z", last_accessed: null, quality: null,
  };
}

const DATASETS = [dataset("aapl_1_day", "AAPL", "day"), dataset("aapl_1_minute", "AAPL", "minute"), dataset("aapl_1_day_raw", "AAPL", "day", false), dataset("msft_1_day", "MSFT", "day")];
const RUN = "c".repeat(32);
const PROJ = "d".repeat(32);
const here = new URLSearchParams("table=msft_1_day&tf=1d&from=1000&to=2000&session=regular&ind=sma(20)&run=" + "e".repeat(32) + "&proj=" + "f".repeat(32));
const DAY = 86_400_000;

function target(ref: ChartReference, current = here) {
  const t = chartTarget(ref, DATASETS, current);
  if ("problem" in t) throw new Error(t.problem);
  return t;
}

describe("chartTarget", () => {
  it("goes to trades on the symbol's dataset, keeping the session and indicators, with the run shown", () => {
    const t = target({ kind: "trades", symbol: "AAPL", timeframe: "1d", run_id: RUN, label: "" });
    expect(t.params.toString()).toBe(`table=aapl_1_day&tf=1d&session=regular&ind=sma%2820%29&run=${RUN}`);
    expect(t.evidence).toBeNull();
    expect(t.run).toBe(true);
  });

  it("adds a projection and an indicator to the URL of the series charted", () => {
    const onMsft = new URLSearchParams("table=msft_1_day&tf=1d&ind=sma(20)");
    expect(target({ kind: "projection", symbol: "MSFT", timeframe: "1d", projection_id: PROJ, label: "" }, onMsft).params.get("proj")).toBe(PROJ);
    expect(target({ kind: "indicator", symbol: "MSFT", timeframe: "1d", spec: "RSI:14", label: "" }, onMsft).params.getAll("ind")).toEqual(["sma(20)", "rsi(14)"]);
    expect(target({ kind: "indicator", symbol: "MSFT", timeframe: "1d", spec: "sma(20)", label: "" }, onMsft).params.getAll("ind")).toEqual(["sma(20)"]);
  });

  it("draws a marker, a price line or a span as evidence, the window around it in the URL", () => {
    const ts = Date.UTC(2024, 2, 15);
    const marker = target({ kind: "marker", symbol: "AAPL", timeframe: "1d", ts, label: "breakout", position: "below" });
    expect(marker.evidence).toEqual({ kind: "marker", ts, position: "below", label: "breakout", symbol: "AAPL", window: { fromMs: ts - 40 * DAY, toMs: ts + 40 * DAY } });
    expect(Number(marker.params.get("from"))).toBe(ts - 40 * DAY);
    expect(Number(marker.params.get("to"))).toBe(ts + 40 * DAY);
    expect(marker.params.get("run")).toBeNull(); // another series: the run and projections of MSFT are not for it

    const line = target({ kind: "price_line", symbol: "MSFT", timeframe: "1d", price: 410.5, label: "resistance" });
    expect(line.evidence).toMatchObject({ kind: "price_line", price: 410.5, window: null });
    expect(line.params.get("from")).toBe("1000"); // same series: the view is kept

    const range = target({ kind: "range", symbol: "AAPL", timeframe: "1h", start: ts, end: ts + 10 * DAY, label: "" });
    expect(range.params.get("table")).toBe("aapl_1_minute"); // the daily datasets cannot draw hours
    expect(range.params.get("tf")).toBe("1h");
    expect(range.evidence).toMatchObject({ kind: "range", start: ts, end: ts + 10 * DAY });
  });

  it("says so when no dataset of the symbol is stored or the indicator cannot be drawn", () => {
    expect(chartTarget({ kind: "marker", symbol: "TSLA", timeframe: "1d", ts: 0, label: "", position: "above" }, DATASETS, here)).toEqual({ problem: "No dataset of TSLA is stored: fetch its bars first." });
    expect(chartTarget({ kind: "indicator", symbol: "AAPL", timeframe: "1d", spec: "not a spec!", label: "" }, DATASETS, here)).toHaveProperty("problem");
  });
});

describe("datasetFor", () => {
  it("prefers the charted dataset, then one adjusted like it whose bars fit the timeframe best", () => {
    expect(datasetFor("aapl", "1d", DATASETS, "aapl_1_minute")?.table).toBe("aapl_1_minute");
    expect(datasetFor("AAPL", "1d", DATASETS, "msft_1_day")?.table).toBe("aapl_1_day");
    expect(datasetFor("AAPL", "1d", DATASETS, null)?.table).toBe("aapl_1_day");
    expect(datasetFor("AAPL", "5m", DATASETS, null)?.table).toBe("aapl_1_minute");
    expect(datasetFor("NONE", "1d", DATASETS, null)).toBeNull();
  });
});

describe("words", () => {
  it("writes specs as the URL does and names each chip", () => {
    expect(urlSpec("RSI:14")).toBe("rsi(14)");
    expect(urlSpec("bbands(20, 2)")).toBe("bbands(20,2)");
    expect(referenceText({ kind: "price_line", symbol: "AAPL", timeframe: "1d", price: 190, label: "" })).toBe("Price 190 · AAPL 1d");
    expect(referenceText({ kind: "range", symbol: "AAPL", timeframe: "1d", start: 0, end: 1, label: "earnings" })).toBe("earnings · AAPL 1d");
  });
});
