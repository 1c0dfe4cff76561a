// Projections in chart slices: the future rows after the last bar never become bars, and keep their values.
import { describe, expect, it } from "vitest";

import { futureRows, isProjectionColumn, projectionColumn } from "./projectionRows";
import { barsToSeries, tableToBars } from "./series";
import { sliceWithProjections, sliceWithIndicators } from "./sliceFixture";

const DAY = 86_400_000;
const T0 = Date.UTC(2024, 0, 2, 5);
const days = (n: number): number[] => Array.from({ length: n }, (_, i) => T0 + i * DAY);

describe("projection rows", () => {
  it("names a projection's columns", () => {
    expect(projectionColumn("p1", "median")).toBe("proj:p1:median");
    expect(isProjectionColumn("proj:p1:upper")).toBe(true);
    expect(isProjectionColumn("ind:sma(20):real")).toBe(false);
  });

  it("splits trailing rows without prices off as future points: the bars stay bars, with the projection's values", () => {
    // Three bars, the projection's horizon reaching two buckets past the last one.
    const table = sliceWithProjections(days(5), [10, 11, 12, null, null], [
      { id: "p1", median: [null, null, 12, 12.5, 13], lower: [null, null, 12, 11.5, 11], upper: [null, null, 12, 13.5, 15] },
    ]);
    const bars = tableToBars(table);
    expect(bars.map((b) => b.ts)).toEqual(days(3));
    expect(bars.map((b) => b.close)).toEqual([10, 11, 12]);
    expect(bars[2]?.extra).toEqual({ "proj:p1:median": 12, "proj:p1:lower": 12, "proj:p1:upper": 12 });
    expect(bars[0]?.extra?.["proj:p1:median"]).toBeNull();

    const future = futureRows(table);
    expect(future).toEqual([
      { ts: T0 + 3 * DAY, extra: { "proj:p1:median": 12.5, "proj:p1:lower": 11.5, "proj:p1:upper": 13.5 } },
      { ts: T0 + 4 * DAY, extra: { "proj:p1:median": 13, "proj:p1:lower": 11, "proj:p1:upper": 15 } },
    ]);
    // The candles and volume bars are the real bars alone: no whitespace on the candlestick series.
    const series = barsToSeries(bars);
    expect(series.candles).toHaveLength(3);
    expect(series.candles.every((c) => Number.isFinite(c.close))).toBe(true);
    expect(series.volumes).toHaveLength(3);
  });

  it("finds no future without projection columns, or without a real bar to follow", () => {
    expect(futureRows(sliceWithIndicators(days(3), [1, 2, 3], []))).toEqual([]);
    expect(futureRows(sliceWithProjections(days(2), [null, null], [{ id: "p", median: [1, 2], lower: [1, 2], upper: [1, 2] }]))).toEqual([]);
  });

  it("keeps one future point per time, ascending", () => {
    const ts = [T0, T0 + 2 * DAY, T0 + DAY, T0 + 2 * DAY];
    const table = sliceWithProjections(ts, [1, null, null, null], [{ id: "p", median: [null, 3, 2, 4], lower: [null, 3, 2, 4], upper: [null, 3, 2, 4] }]);
    expect(futureRows(table).map((f) => [f.ts, f.extra["proj:p:median"]])).toEqual([
      [T0 + DAY, 2],
      [T0 + 2 * DAY, 4],
    ]);
  });
});
