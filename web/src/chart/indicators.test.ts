import { describe, expect, it } from "vitest";

import { ApiError } from "../api/problem";
import {
  changedTail,
  formatIndicatorValue,
  type IndicatorColumn,
  indicatorColumns,
  INDICATOR_COLORS,
  lastValue,
  layoutIndicators,
  layoutKey,
  lineData,
  linesBySpec,
  paneGroupCount,
  rejectedIndicators,
} from "./indicators";
import { type Bar, tableToBars } from "./series";
import { sliceWithIndicators } from "./sliceFixture";

const column = (spec: string, output: string, overlay: boolean): IndicatorColumn => ({ key: `ind:${spec}:${output}`, spec, output, overlay, displayName: spec });

describe("indicatorColumns", () => {
  it("reads the indicator fields of a slice, in order, with their metadata", () => {
    const table = sliceWithIndicators([0, 60_000], [10, 11], [
      { spec: "sma(20)", output: "real", overlay: true, values: [null, 10.5] },
      { spec: "rsi", output: "real", overlay: false, values: [40, 55] },
    ]);
    expect(indicatorColumns(table.schema)).toEqual([
      { key: "ind:sma(20):real", spec: "sma(20)", output: "real", overlay: true, displayName: "SMA(20)" },
      { key: "ind:rsi:real", spec: "rsi", output: "real", overlay: false, displayName: "RSI" },
    ]);
  });

  it("falls back to the column name without metadata", () => {
    const fields = [{ name: "ts", metadata: new Map() }, { name: "ind:bbands(20,2,2):upperband", metadata: new Map() }];
    expect(indicatorColumns({ fields })).toEqual([
      { key: "ind:bbands(20,2,2):upperband", spec: "bbands(20,2,2)", output: "upperband", overlay: false, displayName: "bbands(20,2,2)" },
    ]);
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

describe("layoutIndicators", () => {
  const columns = [
    column("sma(20)", "real", true),
    column("rsi", "real", false),
    column("bbands(20,2,2)", "upperband", true),
    column("bbands(20,2,2)", "middleband", true),
    column("bbands(20,2,2)", "lowerband", true),
    column("macd(12,26,9)", "macd", false),
    column("macd(12,26,9)", "macdsignal", false),
    column("macd(12,26,9)", "macdhist", false),
  ];

  it("draws overlays on the price pane and groups each other indicator in a pane of its own", () => {
    const lines = layoutIndicators(columns);
    expect(lines.map((l) => l.paneGroup)).toEqual([null, 0, null, null, null, 1, 1, 1]);
    expect(paneGroupCount(lines)).toBe(2);
    expect(paneGroupCount(layoutIndicators(columns.slice(0, 1)))).toBe(0);
  });

  it("gives every output its own colour and labels outputs of multi-output indicators", () => {
    const lines = layoutIndicators(columns);
    expect(new Set(lines.map((l) => l.color)).size).toBe(lines.length);
    expect(lines.every((l) => (INDICATOR_COLORS as readonly string[]).includes(l.color))).toBe(true);
    expect(lines.map((l) => l.label)).toEqual([
      "sma(20)",
      "rsi",
      "bbands(20,2,2) upperband",
      "bbands(20,2,2) middleband",
      "bbands(20,2,2) lowerband",
      "macd(12,26,9) macd",
      "macd(12,26,9) macdsignal",
      "macd(12,26,9) macdhist",
    ]);
    expect(lines.map((l) => l.shortLabel)).toEqual(["sma(20)", "rsi", "upperband", "middleband", "lowerband", "macd", "macdsignal", "macdhist"]);
  });

  it("groups the lines by indicator for the crosshair strip", () => {
    const groups = linesBySpec(layoutIndicators(columns));
    expect(groups.map((g) => [g.spec, g.lines.length])).toEqual([
      ["sma(20)", 1],
      ["rsi", 1],
      ["bbands(20,2,2)", 3],
      ["macd(12,26,9)", 3],
    ]);
  });

  it("keys the layout by columns and placement only", () => {
    expect(layoutKey(columns)).toBe(layoutKey(columns.map((c) => ({ ...c }))));
    expect(layoutKey(columns)).not.toBe(layoutKey(columns.slice(1)));
    expect(layoutKey([column("x", "real", true)])).not.toBe(layoutKey([column("x", "real", false)]));
    expect(layoutKey([])).toBe("");
  });
});

describe("lineData", () => {
  const bars: Bar[] = [
    { ts: 1_000, open: 1, high: 1, low: 1, close: 1, volume: 0, extra: { k: null } },
    { ts: 61_000, open: 1, high: 1, low: 1, close: 1, volume: 0, extra: { k: 2.5 } },
    { ts: 121_000, open: 1, high: 1, low: 1, close: 1, volume: 0 },
  ];

  it("keeps every bar's time, with whitespace where the output has no value", () => {
    expect(lineData(bars, "k")).toEqual([{ time: 1 }, { time: 61, value: 2.5 }, { time: 121 }]);
  });

  it("finds the last defined value", () => {
    expect(lastValue(bars, "k")).toBe(2.5);
    expect(lastValue(bars, "other")).toBeNull();
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

describe("formatIndicatorValue", () => {
  it("shows a dash where undefined and compacts large values", () => {
    expect(formatIndicatorValue(null)).toBe("—");
    expect(formatIndicatorValue(undefined)).toBe("—");
    expect(formatIndicatorValue(54.321)).toBe("54.32");
    expect(formatIndicatorValue(-0.01234)).toBe("-0.0123");
    expect(formatIndicatorValue(12_345_678)).toBe("12.35M");
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
