import { describe, expect, it } from "vitest";

import { ApiError } from "../api/problem";
import { changedTail, formatIndicatorValue, formatPatternValue, indicatorColumns, lastValue, loadedValue, rejectedIndicators } from "./indicators";
import { type Bar, tableToBars } from "./series";
import { fixtureColumn, sliceWithIndicators } from "./sliceFixture";

describe("indicatorColumns", () => {
  it("reads every field of the server's metadata", () => {
    const table = sliceWithIndicators([0, 60_000], [10, 11], [
      {
        spec: "rsi(14)",
        output: "real",
        overlay: false,
        values: [40, 55],
        metadata: {
          "k2q.function": "RSI",
          "k2q.display_name": "Relative Strength Index",
          "k2q.pane": "own",
          "k2q.plot": "line",
          "k2q.levels": "[30,70]",
          "k2q.stable_from": "60000",
          "k2q.min_bars": "15",
          "k2q.series_rows": "250",
        },
      },
      { spec: "macd", output: "macdhist", overlay: false, values: [null, 1], metadata: { "k2q.function": "MACD", "k2q.pane": "own", "k2q.plot": "histogram", "k2q.levels": "[0]" } },
      { spec: "cdldoji", output: "integer", overlay: false, values: [0, 100], metadata: { "k2q.function": "CDLDOJI", "k2q.pane": "markers", "k2q.plot": "markers", "k2q.stable_from": "" } },
    ]);
    expect(indicatorColumns(table.schema)).toEqual([
      {
        key: "ind:rsi(14):real",
        spec: "rsi(14)",
        output: "real",
        overlay: false,
        displayName: "Relative Strength Index",
        function: "RSI",
        pane: "own",
        plot: "line",
        levels: [30, 70],
        stableFrom: 60_000,
        minBars: 15,
        seriesRows: 250,
      },
      fixtureColumn("macd", "macdhist", { displayName: "MACD", plot: "histogram", levels: [0] }),
      // An empty `k2q.stable_from`: the series is too short for any value to be stable.
      fixtureColumn("cdldoji", "integer", { displayName: "CDLDOJI", pane: "markers", plot: "markers", stableFrom: Infinity }),
    ]);
  });

  it("reads an older server's fields: panes by `k2q.overlay`, CDL* as markers, all stable", () => {
    const table = sliceWithIndicators([0], [10], [
      { spec: "sma(20)", output: "real", overlay: true, values: [null] },
      { spec: "rsi", output: "real", overlay: false, values: [40] },
      { spec: "cdlengulfing", output: "integer", overlay: false, values: [0] },
    ]);
    const columns = indicatorColumns(table.schema);
    expect(columns.map((c) => [c.function, c.pane, c.plot, c.stableFrom, c.minBars])).toEqual([
      ["SMA", "price", "line", -Infinity, null],
      ["RSI", "own", "line", -Infinity, null],
      ["CDLENGULFING", "markers", "markers", -Infinity, null],
    ]);
  });

  it("falls back to the column name without metadata, and ignores unreadable levels", () => {
    const fields = [
      { name: "ts", metadata: new Map() },
      { name: "ind:bbands(20,2,2):upperband", metadata: new Map([["k2q.levels", "not json"]]) },
    ];
    expect(indicatorColumns({ fields })).toEqual([fixtureColumn("bbands(20,2,2)", "upperband", { displayName: "bbands(20,2,2)" })]);
  });

  it("puts each row's values on its bar, null where undefined", () => {
    const table = sliceWithIndicators([0, 60_000, 120_000], [10, 11, 12], [{ spec: "sma(2)", output: "real", overlay: true, values: [null, 10.5, 11.5] }]);
    const bars = tableToBars(table);
    expect(bars.map((b) => b.extra)).toEqual([{ "ind:sma(2):real": null }, { "ind:sma(2):real": 10.5 }, { "ind:sma(2):real": 11.5 }]);
    expect(bars[2]).toMatchObject({ ts: 120_000, close: 12, volume: 100 });
  });

  it("leaves bars without indicators as they were", () => {
    const bars = tableToBars(sliceWithIndicators([0], [10], []));
    expect(bars[0]).toEqual({ ts: 0, open: 10, high: 10, low: 10, close: 10, volume: 100 });
  });
});

describe("values", () => {
  const bars: Bar[] = [
    { ts: 1_000, open: 1, high: 1, low: 1, close: 1, volume: 0, extra: { k: null } },
    { ts: 61_000, open: 1, high: 1, low: 1, close: 1, volume: 0, extra: { k: 2.5 } },
    { ts: 121_000, open: 1, high: 1, low: 1, close: 1, volume: 0 },
  ];

  it("finds the last defined value, through a value reader", () => {
    expect(lastValue(bars, "k")).toBe(2.5);
    expect(lastValue(bars, "other")).toBeNull();
    expect(lastValue(bars, "k", (bar, key) => (bar.ts === 121_000 ? 3 : loadedValue(bar, key)))).toBe(3);
  });
});

describe("changedTail", () => {
  const b = (ts: number): Bar => ({ ts, open: 1, high: 1, low: 1, close: 1, volume: 1 });
  const bars = [b(1), b(2), b(3)];
  it("redraws only from the last bar when a live bar replaced it or followed it", () => {
    expect(changedTail(bars, [bars[0] as Bar, bars[1] as Bar, b(3)])).toBe(2);
    expect(changedTail(bars, [...bars, b(4)])).toBe(2);
    expect(changedTail(bars, [bars[0] as Bar, bars[1] as Bar, b(3), b(4)])).toBe(2);
  });
  it("redraws whole after a new slice, an extension or a dropped bar", () => {
    expect(changedTail(bars, [b(0), ...bars])).toBeNull();
    expect(changedTail(bars, bars.map((x) => ({ ...x })))).toBeNull();
    expect(changedTail(bars, [...bars, b(4), b(5)])).toBeNull();
    expect(changedTail(bars, bars.slice(0, 2))).toBeNull();
    expect(changedTail([bars[0] as Bar], [bars[0] as Bar, b(2)])).toBeNull();
  });
});

describe("formatting", () => {
  it("shows a dash where undefined and compacts large values", () => {
    expect(formatIndicatorValue(null)).toBe("—");
    expect(formatIndicatorValue(undefined)).toBe("—");
    expect(formatIndicatorValue(54.321)).toBe("54.32");
    expect(formatIndicatorValue(-0.01234)).toBe("-0.0123");
    expect(formatIndicatorValue(12_345_678)).toBe("12.35M");
  });

  it("says a pattern's direction, and its strength past ±100", () => {
    expect(formatPatternValue(0)).toBe("—");
    expect(formatPatternValue(null)).toBe("—");
    expect(formatPatternValue(100)).toBe("bullish");
    expect(formatPatternValue(-100)).toBe("bearish");
    expect(formatPatternValue(-200)).toBe("bearish 200");
  });
});

describe("rejectedIndicators", () => {
  it("blames the specs the server refuses alone, with its reason, and nothing else", async () => {
    const ask = async (spec: string): Promise<void> => {
      if (spec === "nosuch(3)") throw new ApiError(422, "Unprocessable Content", "unknown indicator 'nosuch': not a TA-Lib function");
      if (spec === "sma(x)") throw new ApiError(422, "Unprocessable Content", null);
      if (spec === "ema(9)") throw new ApiError(503, "Service Unavailable", "busy");
    };
    expect(await rejectedIndicators(["sma(20)", "nosuch(3)", "ema(9)", "sma(x)"], ask)).toEqual([
      { spec: "nosuch(3)", reason: "unknown indicator 'nosuch': not a TA-Lib function" },
      { spec: "sma(x)", reason: "Unprocessable Content" },
    ]);
  });
});
