import { describe, expect, it } from "vitest";

import { INDICATOR_COLORS } from "./indicatorColors";
import { formatLineValue, layoutIndicators, layoutKey, linesBySpec, paneGroupCount } from "./indicatorLayout";
import { fixtureColumn } from "./sliceFixture";

const columns = [
  fixtureColumn("sma(20)", "real", { overlay: true }),
  fixtureColumn("rsi(14)", "real", { levels: [30, 70] }),
  fixtureColumn("bbands(20,2,2)", "upperband", { overlay: true }),
  fixtureColumn("bbands(20,2,2)", "middleband", { overlay: true }),
  fixtureColumn("bbands(20,2,2)", "lowerband", { overlay: true }),
  fixtureColumn("macd", "macd"),
  fixtureColumn("macd", "macdsignal", { plot: "dashed" }),
  fixtureColumn("macd", "macdhist", { plot: "histogram" }),
  fixtureColumn("cdlengulfing", "integer", { pane: "markers", plot: "markers" }),
];

describe("layoutIndicators", () => {
  it("puts overlays and patterns on the price pane and each other indicator in a pane of its own", () => {
    const lines = layoutIndicators(columns);
    expect(lines.map((l) => l.paneGroup)).toEqual([null, 0, null, null, null, 1, 1, 1, null]);
    expect(paneGroupCount(lines)).toBe(2);
    expect(paneGroupCount(layoutIndicators(columns.slice(0, 1)))).toBe(0);
  });

  it("draws each output as the server's plot says: lines, dashed, histograms, markers", () => {
    expect(layoutIndicators(columns).map((l) => l.kind)).toEqual(["line", "line", "line", "line", "line", "line", "dashed", "histogram", "markers"]);
    // A `markers` plot outside the markers pane cannot be markers on the candles: a line.
    expect(layoutIndicators([fixtureColumn("x", "real", { plot: "markers" })])[0]?.kind).toBe("line");
  });

  it("colours outputs by their indicator's colours, the palette in column order where none are given", () => {
    const colors = new Map([["macd", ["#111111", "#222222", "#333333"]]]);
    const lines = layoutIndicators(columns, colors);
    expect(lines.slice(5, 8).map((l) => l.color)).toEqual(["#111111", "#222222", "#333333"]);
    expect(lines.slice(0, 2).map((l) => l.color)).toEqual([INDICATOR_COLORS[0], INDICATOR_COLORS[1]]);
  });

  it("labels outputs of multi-output indicators", () => {
    const lines = layoutIndicators(columns);
    expect(lines.map((l) => l.shortLabel)).toEqual(["sma(20)", "rsi(14)", "upperband", "middleband", "lowerband", "macd", "macdsignal", "macdhist", "cdlengulfing"]);
    expect(lines[2]?.label).toBe("bbands(20,2,2) upperband");
  });

  it("groups the lines by indicator for the crosshair strip", () => {
    expect(linesBySpec(layoutIndicators(columns)).map((g) => [g.spec, g.lines.length])).toEqual([
      ["sma(20)", 1],
      ["rsi(14)", 1],
      ["bbands(20,2,2)", 3],
      ["macd", 3],
      ["cdlengulfing", 1],
    ]);
  });

  it("keys the layout by what is drawn: columns, panes, kinds, colours, levels", () => {
    const key = layoutKey(layoutIndicators(columns));
    expect(layoutKey(layoutIndicators(columns.map((c) => ({ ...c }))))).toBe(key);
    expect(layoutKey(layoutIndicators(columns.slice(1)))).not.toBe(key);
    expect(layoutKey(layoutIndicators(columns, new Map([["sma(20)", ["#000000"]]])))).not.toBe(key);
    const rsi = fixtureColumn("rsi", "real");
    expect(layoutKey(layoutIndicators([rsi]))).not.toBe(layoutKey(layoutIndicators([{ ...rsi, levels: [30, 70] }])));
    expect(layoutKey([])).toBe("");
  });

  it("formats a pattern's value in words and other values as numbers", () => {
    const [rsi] = layoutIndicators([fixtureColumn("rsi", "real")]);
    const [doji] = layoutIndicators([fixtureColumn("cdldoji", "integer", { pane: "markers", plot: "markers" })]);
    expect(rsi !== undefined && formatLineValue(rsi, 55.5)).toBe("55.50");
    expect(doji !== undefined && formatLineValue(doji, 100)).toBe("bullish");
  });
});
