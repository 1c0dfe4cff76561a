import { describe, expect, it } from "vitest";

import type { SweepResult, SweepRow } from "../../api/types";
import { buildHeatmap, defaultAxes, heatColor, heatPosition } from "./heatmap";

const row = (params: Record<string, number>, sharpe: number | null, drawdown = -10): SweepRow => ({ params, metrics: { sharpe, max_drawdown_pct: drawdown } });

const two: SweepResult = {
  metric: "sharpe",
  axes: { fast: [5, 10], slow: [20, 30, 40] },
  rows: [
    row({ fast: 10, slow: 30 }, 1.5, -4),
    row({ fast: 5, slow: 20 }, 0.2, -20),
    row({ fast: 5, slow: 30 }, 0.9),
    row({ fast: 10, slow: 20 }, -0.3, -2),
    row({ fast: 5, slow: 40 }, null),
  ],
};

describe("buildHeatmap", () => {
  it("maps two parameters to a grid: x across, y down, a missing combination empty", () => {
    const map = buildHeatmap(two, "sharpe", "fast", "slow");
    expect(map.xs).toEqual([5, 10]);
    expect(map.ys).toEqual([20, 30, 40]);
    expect(map.cells.map((r) => r.map((c) => c.value))).toEqual([
      [0.2, -0.3],
      [0.9, 1.5],
      [null, null],
    ]);
    expect(map.cells[1]?.[1]).toEqual({ x: 10, y: 30, value: 1.5, params: { fast: 10, slow: 30 } });
    expect(map.cells[2]?.[1]?.params).toBeNull();
    expect([map.low, map.high]).toEqual([-0.3, 1.5]);
    expect(map.atBest).toEqual([]);
  });

  it("maps one parameter to a single row", () => {
    const one: SweepResult = { metric: "sharpe", axes: { fast: [5, 10, 15] }, rows: [row({ fast: 15 }, 2), row({ fast: 5 }, 1)] };
    const map = buildHeatmap(one, "sharpe", "fast", null);
    expect(map.ys).toEqual([]);
    expect(map.cells).toHaveLength(1);
    expect(map.cells[0]?.map((c) => [c.x, c.y, c.value])).toEqual([
      [5, null, 1],
      [10, null, null],
      [15, null, 2],
    ]);
  });

  it("takes the other parameters at their best in each cell", () => {
    const three: SweepResult = {
      metric: "sharpe",
      axes: { fast: [5], slow: [20], stop: [1, 2, 3] },
      rows: [row({ fast: 5, slow: 20, stop: 1 }, 0.5), row({ fast: 5, slow: 20, stop: 2 }, 1.1), row({ fast: 5, slow: 20, stop: 3 }, 0.7)],
    };
    const map = buildHeatmap(three, "sharpe", "fast", "slow");
    expect(map.cells[0]?.[0]).toMatchObject({ value: 1.1, params: { stop: 2 } });
    expect(map.atBest).toEqual(["stop"]);
  });

  it("ranks by the metric's own direction: a drawdown nearer zero is better", () => {
    const map = buildHeatmap(two, "max_drawdown_pct", "fast", "slow");
    expect(heatPosition(map, -2)).toBe(1);
    expect(heatPosition(map, -20)).toBe(0);
    expect(heatPosition(map, null)).toBeNull();
  });

  it("ignores the y parameter when it is the x parameter", () => {
    expect(buildHeatmap(two, "sharpe", "fast", "fast").yParam).toBeNull();
  });
});

describe("defaultAxes", () => {
  it("shows the two parameters with the most values, in the axes' order", () => {
    expect(defaultAxes({ metric: "sharpe", axes: { a: [1, 2], b: [1], c: [1, 2, 3] }, rows: [] })).toEqual({ x: "a", y: "c" });
    expect(defaultAxes({ metric: "sharpe", axes: { a: [1] }, rows: [] })).toEqual({ x: "a", y: null });
  });
});

describe("heatColor", () => {
  it("runs from red through amber to green, grey without a value", () => {
    expect(heatColor(0)).toBe("rgb(185, 28, 28)");
    expect(heatColor(0.5)).toBe("rgb(202, 138, 4)");
    expect(heatColor(1)).toBe("rgb(21, 128, 61)");
    expect(heatColor(2)).toBe(heatColor(1));
    expect(heatColor(null)).toBe("rgb(34, 42, 54)");
  });
});
