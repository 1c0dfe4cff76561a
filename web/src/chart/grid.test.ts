import { describe, expect, it } from "vitest";

import { centredOn, indexOfTime, rowWindow, scrollToReveal, visibleBarRange } from "./grid";
import type { Bar } from "./series";

const bar = (ts: number): Bar => ({ ts, open: 1, high: 1, low: 1, close: 1, volume: 1 });

describe("visibleBarRange", () => {
  it("lists the bars drawn (even partly) in the logical range", () => {
    expect(visibleBarRange(100, { from: 2.3, to: 7.7 })).toEqual({ start: 2, end: 9 });
    expect(visibleBarRange(100, { from: -10, to: 5 })).toEqual({ start: 0, end: 6 });
    expect(visibleBarRange(10, { from: 5, to: 50 })).toEqual({ start: 5, end: 10 });
    expect(visibleBarRange(10, null)).toEqual({ start: 0, end: 0 });
    expect(visibleBarRange(10, { from: 20, to: 30 })).toEqual({ start: 10, end: 10 });
  });
});

describe("rowWindow", () => {
  it("renders the rows in view plus an overscan", () => {
    expect(rowWindow(220, 110, 1000, 22, 2)).toEqual({ start: 8, end: 17 });
    expect(rowWindow(0, 110, 3, 22, 8)).toEqual({ start: 0, end: 3 });
    expect(rowWindow(0, 0, 0, 22)).toEqual({ start: 0, end: 0 });
  });
});

describe("scrollToReveal", () => {
  it("scrolls the least that shows the row", () => {
    expect(scrollToReveal(5, 0, 220, 22)).toBe(0);
    expect(scrollToReveal(20, 0, 220, 22)).toBe(21 * 22 - 220);
    expect(scrollToReveal(2, 200, 220, 22)).toBe(44);
  });
});

describe("indexOfTime", () => {
  const bars = [bar(1000), bar(61_000), bar(121_000)];
  it("finds a bar by its time, to the second", () => {
    expect(indexOfTime(bars, 61_000)).toBe(1);
    expect(indexOfTime(bars, 61_400)).toBe(1);
    expect(indexOfTime(bars, 121_000)).toBe(2);
    expect(indexOfTime(bars, 5_000)).toBe(-1);
    expect(indexOfTime([], 5_000)).toBe(-1);
  });
});

describe("centredOn", () => {
  it("keeps the width", () => {
    expect(centredOn(50, { from: 0, to: 20 })).toEqual({ from: 40, to: 60 });
    expect(centredOn(50, null, 10)).toEqual({ from: 45, to: 55 });
  });
});
