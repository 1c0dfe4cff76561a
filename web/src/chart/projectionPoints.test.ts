// A projection's points to draw: its values on bars, then after the last bar, never between bars.
import { describe, expect, it } from "vitest";

import type { FuturePoint } from "./projectionRows";
import { projectionPoints, samePoints } from "./projectionPoints";
import type { Bar } from "./series";

const DAY = 86_400_000;
const bar = (i: number, extra?: Record<string, number | null>): Bar => ({ ts: i * DAY, open: 1, high: 1, low: 1, close: 1, volume: 1, ...(extra !== undefined ? { extra } : {}) });
const values = (id: string, median: number | null, lower: number | null = median, upper: number | null = median) => ({
  [`proj:${id}:median`]: median,
  [`proj:${id}:lower`]: lower,
  [`proj:${id}:upper`]: upper,
});
const future = (i: number, id: string, median: number): FuturePoint => ({ ts: i * DAY, extra: values(id, median, median - 1, median + 1) });

describe("projectionPoints", () => {
  it("takes the bars' values from the first one on, then the buckets after the last bar", () => {
    const bars = [bar(0, values("p", null)), bar(1, values("p", 5)), bar(2, values("p", 6, 5, 7))];
    const { points, future: after } = projectionPoints(bars, [future(3, "p", 7), future(4, "p", 8)], "p");
    expect(points).toEqual([
      { ts: DAY, median: 5, lower: 5, upper: 5 },
      { ts: 2 * DAY, median: 6, lower: 5, upper: 7 },
      { ts: 3 * DAY, median: 7, lower: 6, upper: 8 },
      { ts: 4 * DAY, median: 8, lower: 7, upper: 9 },
    ]);
    expect(after).toBe(2);
  });

  it("leaves out buckets between bars, keeps one that a live bar has since taken, and ignores other projections", () => {
    const bars = [bar(0), bar(2), bar(3)];
    const rows = [future(1, "p", 1), future(3, "p", 3), future(5, "p", 5), future(6, "q", 9)];
    const { points, future: after } = projectionPoints(bars, rows, "p");
    expect(points.map((p) => p.ts / DAY)).toEqual([3, 5]);
    expect(after).toBe(1);
  });

  it("has nothing to draw for a projection the slice does not carry", () => {
    expect(projectionPoints([bar(0), bar(1)], [], "p")).toEqual({ points: [], future: 0 });
  });

  it("tells equal lists of points from changed ones", () => {
    const a = projectionPoints([bar(0, values("p", 1))], [future(1, "p", 2)], "p").points;
    const b = projectionPoints([bar(0, values("p", 1))], [future(1, "p", 2)], "p").points;
    const c = projectionPoints([bar(0, values("p", 1))], [future(1, "p", 3)], "p").points;
    expect(samePoints(a, b)).toBe(true);
    expect(samePoints(a, c)).toBe(false);
    expect(samePoints(a, a.slice(1))).toBe(false);
  });
});
