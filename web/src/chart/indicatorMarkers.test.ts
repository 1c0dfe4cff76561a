import { describe, expect, it } from "vitest";

import { patternMarker, patternMarkers } from "./indicatorMarkers";
import type { Bar } from "./series";
import { fixtureColumn } from "./sliceFixture";

describe("patternMarker", () => {
  it("puts a bullish pattern below the bar pointing up and a bearish one above it pointing down", () => {
    expect(patternMarker(60_000, 100, "#fff")).toEqual({ time: 60, position: "belowBar", shape: "arrowUp", color: "#fff", size: 1 });
    expect(patternMarker(60_000, -100, "#fff")).toEqual({ time: 60, position: "aboveBar", shape: "arrowDown", color: "#fff", size: 1 });
  });

  it("draws a confirmed pattern (±200) larger, and nothing for no pattern", () => {
    expect(patternMarker(60_000, 200, "#fff")?.size).toBe(2);
    expect(patternMarker(60_000, -200, "#fff")).toMatchObject({ position: "aboveBar", size: 2 });
    expect(patternMarker(60_000, 0, "#fff")).toBeNull();
    expect(patternMarker(60_000, null, "#fff")).toBeNull();
  });
});

describe("patternMarkers", () => {
  it("marks every bar with a pattern, in time order, each pattern in its colour", () => {
    const doji = { column: fixtureColumn("cdldoji", "integer", { pane: "markers" }), color: "#aaaaaa" };
    const engulfing = { column: fixtureColumn("cdlengulfing", "integer", { pane: "markers" }), color: "#bbbbbb" };
    const bar = (ts: number, d: number | null, e: number | null): Bar => ({
      ts,
      open: 1,
      high: 1,
      low: 1,
      close: 1,
      volume: 0,
      extra: { [doji.column.key]: d, [engulfing.column.key]: e },
    });
    const markers = patternMarkers([bar(0, 0, null), bar(60_000, 100, -100), bar(120_000, 0, 0), bar(180_000, null, 100)], [doji, engulfing]);
    expect(markers.map((m) => [m.time, m.shape, m.color])).toEqual([
      [60, "arrowUp", "#aaaaaa"],
      [60, "arrowDown", "#bbbbbb"],
      [180, "arrowUp", "#bbbbbb"],
    ]);
  });
});
