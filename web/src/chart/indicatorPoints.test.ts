import { describe, expect, it } from "vitest";

import { indicatorPoints, isUnstable } from "./indicatorPoints";
import type { Bar } from "./series";
import { fixtureColumn } from "./sliceFixture";

const bar = (ts: number, value: number | null | undefined): Bar => ({ ts, open: 1, high: 1, low: 1, close: 1, volume: 0, ...(value !== undefined ? { extra: { "ind:ema(3):real": value } } : {}) });
const BARS = [bar(1_000, null), bar(61_000, 2.5), bar(121_000, 2.75), bar(181_000, undefined)];

describe("indicatorPoints", () => {
  it("keeps every bar's time, with whitespace where the output has no value", () => {
    const line = { column: fixtureColumn("ema(3)", "real"), color: "#4f9cf9" };
    expect(indicatorPoints(BARS, line)).toEqual([{ time: 1 }, { time: 61, value: 2.5 }, { time: 121, value: 2.75 }, { time: 181 }]);
  });

  it("draws values before the output is stable faint, and the rest in the series colour", () => {
    const line = { column: fixtureColumn("ema(3)", "real", { stableFrom: 121_000 }), color: "#4f9cf9" };
    expect(indicatorPoints(BARS, line)).toEqual([{ time: 1 }, { time: 61, value: 2.5, color: "rgba(79, 156, 249, 0.35)" }, { time: 121, value: 2.75 }, { time: 181 }]);
  });

  it("draws every value faint when the series is too short to settle", () => {
    const line = { column: fixtureColumn("ema(3)", "real", { stableFrom: Infinity }), color: "#4f9cf9" };
    expect(indicatorPoints(BARS, line).filter((p) => "color" in p)).toHaveLength(2);
  });

  it("reads live values over the loaded ones", () => {
    const line = { column: fixtureColumn("ema(3)", "real"), color: "#4f9cf9" };
    expect(indicatorPoints(BARS, line, (b) => (b.ts === 181_000 ? 3 : null))[3]).toEqual({ time: 181, value: 3 });
  });
});

describe("isUnstable", () => {
  it("is true only before the first stable bucket", () => {
    expect(isUnstable({ stableFrom: 120_000 }, 60_000)).toBe(true);
    expect(isUnstable({ stableFrom: 120_000 }, 120_000)).toBe(false);
    expect(isUnstable({ stableFrom: -Infinity }, 0)).toBe(false);
  });
});
