// Evidence on the chart's bars: the bar a marker sits on, the bars a span covers, the window shown.
import { describe, expect, it } from "vitest";

import { barAt, barsWithin, evidenceInView, evidenceShown, evidenceWindow, logicalWindowFor } from "./evidence";
import type { Bar } from "./series";

const DAY = 86_400_000;
const bar = (ts: number): Bar => ({ ts, open: 1, high: 1, low: 1, close: 1, volume: 1 });
const bars = [0, 1, 2, 5, 6].map((d) => bar(d * DAY));

describe("evidence", () => {
  it("puts a marker on the bar holding its time, or nowhere when no loaded bar does", () => {
    expect(barAt(bars, 2 * DAY, DAY)).toBe(2 * DAY);
    expect(barAt(bars, 2 * DAY + 5000, DAY)).toBe(2 * DAY); // inside a daily bar
    expect(barAt(bars, -DAY, DAY)).toBeNull(); // before the first
    expect(barAt(bars, 20 * DAY, DAY)).toBeNull(); // far past the last
    expect(barAt([], 0, DAY)).toBeNull();
  });

  it("shades a span from its first to its last bar", () => {
    expect(barsWithin(bars, DAY, 5 * DAY)).toEqual([DAY, 5 * DAY]);
    expect(barsWithin(bars, 3 * DAY, 4 * DAY)).toBeNull();
  });

  it("shows a span or a marker with margins, and tells whether the view has it", () => {
    expect(evidenceWindow({ kind: "range", start: 10 * DAY, end: 20 * DAY, label: "" }, DAY)).toEqual({ fromMs: 7 * DAY, toMs: 24 * DAY });
    expect(evidenceWindow({ kind: "marker", ts: 100 * DAY, label: "", position: "above" }, DAY)).toEqual({ fromMs: 60 * DAY, toMs: 140 * DAY });
    expect(evidenceWindow({ kind: "price_line", price: 1, label: "" }, DAY)).toBeNull();
    expect(evidenceInView({ kind: "range", start: 2 * DAY, end: 3 * DAY, label: "" }, { fromMs: 0, toMs: 4 * DAY })).toBe(true);
    expect(evidenceInView({ kind: "marker", ts: 9 * DAY, label: "", position: "above" }, { fromMs: 0, toMs: 4 * DAY })).toBe(false);
    expect(logicalWindowFor(bars, { fromMs: -DAY, toMs: 8 * DAY }, DAY)).toEqual({ from: -1, to: 6 });
  });

  it("shows evidence only in a view not far wider than its window", () => {
    const marker = { kind: "marker", ts: 100 * DAY, label: "", position: "above" } as const;
    const window = { fromMs: 60 * DAY, toMs: 140 * DAY };
    expect(evidenceShown(marker, window, window)).toBe(true);
    expect(evidenceShown(marker, { fromMs: 90 * DAY, toMs: 150 * DAY }, window)).toBe(true); // narrower, still has it
    expect(evidenceShown(marker, { fromMs: 0, toMs: 3650 * DAY }, window)).toBe(false); // years of bars: in view, not shown
    expect(evidenceShown(marker, { fromMs: 0, toMs: 50 * DAY }, window)).toBe(false); // out of view
    expect(evidenceShown(marker, { fromMs: 0, toMs: 3650 * DAY }, null)).toBe(true);
    expect(evidenceShown({ kind: "price_line", price: 1, label: "" }, { fromMs: 0, toMs: 3650 * DAY }, null)).toBe(true);
  });
});
