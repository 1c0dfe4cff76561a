import { describe, expect, it } from "vitest";

import { equitySeries, rebased } from "./equity";

describe("equitySeries", () => {
  it("turns points into ascending per-second equity and below-zero drawdown", () => {
    const series = equitySeries([
      [120_000, 10_500, 0],
      [60_000, 10_000, 0],
      [180_000, 9_450, 10],
      [180_500, 9_400, -10.5],
      [240_000, Number.NaN, 0],
    ]);
    expect(series.equity).toEqual([
      { time: 60, value: 10_000 },
      { time: 120, value: 10_500 },
      { time: 180, value: 9_400 },
    ]);
    expect(series.drawdown.map((p) => p.value)).toEqual([0, 0, -10.5]);
  });

  it("rebases to 100 at the first point", () => {
    expect(rebased(equitySeries([[0, 5000, 0], [1000, 5500, 0]]).equity).map((p) => p.value)).toEqual([100, 110]);
    expect(rebased([])).toEqual([]);
  });
});
