import { describe, expect, it } from "vitest";

import { bandRects, DAY_MS, firstBandFrom, gapBands, lastAtOrBefore, logicalOf } from "./gapBands";
import { GapBandsPrimitive } from "./GapBandsPrimitive";

const MIN = 60_000;
const HOUR = 3_600_000;

describe("logical positions of times", () => {
  const times = [0, MIN, 3 * MIN, 4 * MIN]; // minute bars; 02:00 is missing

  it("finds the last bar at or before a time", () => {
    expect(lastAtOrBefore(times, -1)).toBe(-1);
    expect(lastAtOrBefore(times, 0)).toBe(0);
    expect(lastAtOrBefore(times, 2.5 * MIN)).toBe(1);
    expect(lastAtOrBefore(times, 10 * MIN)).toBe(3);
    expect(lastAtOrBefore([], 5)).toBe(-1);
  });

  it("maps inside a bar proportionally and a void to the boundary", () => {
    expect(logicalOf(times, 0, MIN)).toBe(-0.5);
    expect(logicalOf(times, 30_000, MIN)).toBe(0);
    expect(logicalOf(times, 2 * MIN, MIN)).toBe(1.5); // the missing minute: between bars 1 and 2
    expect(logicalOf(times, 3 * MIN, MIN)).toBe(1.5); // the next bar's start is the same boundary
    expect(logicalOf(times, -5 * MIN, MIN)).toBe(-0.5);
    expect(logicalOf(times, 9 * MIN, MIN)).toBe(3.5);
  });
});

describe("gap bands", () => {
  it("puts a gap between two minute bars at their boundary", () => {
    const bands = gapBands([{ startMs: 2 * MIN, endMs: 3 * MIN, missing: 1 }], [0, MIN, 3 * MIN, 4 * MIN], MIN);
    expect(bands).toEqual([{ from: 1.5, to: 1.5, missing: 1 }]);
  });

  it("shades the part of a wider bar that a gap covers", () => {
    const hours = [0, HOUR, 2 * HOUR]; // hour bars over minute data: 01:15-01:30 is missing
    const [band] = gapBands([{ startMs: HOUR + 15 * MIN, endMs: HOUR + 30 * MIN, missing: 15 }], hours, HOUR);
    expect(band?.from).toBeCloseTo(0.75);
    expect(band?.to).toBeCloseTo(1.0);
  });

  it("compares daily bars by UTC day whether stamped at New York or UTC midnight", () => {
    const nyMidnight = (day: number) => day * DAY_MS + 4 * HOUR; // 04:00Z in summer
    const days = [nyMidnight(0), nyMidnight(1), nyMidnight(3)]; // day 2 missing
    const gap = { startMs: nyMidnight(2), endMs: nyMidnight(3), missing: 1 };
    expect(gapBands([gap], days, DAY_MS)).toEqual([{ from: 1.5, to: 1.5, missing: 1 }]);
    expect(gapBands([gap], [0, DAY_MS, 3 * DAY_MS], DAY_MS)).toEqual([{ from: 1.5, to: 1.5, missing: 1 }]);
  });

  it("drops gaps outside the loaded bars and handles no bars", () => {
    const times = [10 * MIN, 11 * MIN];
    expect(gapBands([{ startMs: 0, endMs: 5 * MIN, missing: 5 }, { startMs: 20 * MIN, endMs: 21 * MIN, missing: 1 }], times, MIN)).toEqual([]);
    expect(gapBands([{ startMs: 0, endMs: 5 * MIN, missing: 5 }], [], MIN)).toEqual([]);
    // A gap reaching into the data from before it starts at the first bar's left edge.
    expect(gapBands([{ startMs: 0, endMs: 10.5 * MIN, missing: 10 }], times, MIN)).toEqual([{ from: -0.5, to: 0, missing: 10 }]);
  });
});

describe("band rectangles", () => {
  const bands = [
    { from: 1.5, to: 1.5, missing: 1 },
    { from: 1.6, to: 1.6, missing: 1 },
    { from: 5, to: 8, missing: 30 },
    { from: 40, to: 41, missing: 10 },
  ];
  const toX = (logical: number) => logical * 10; // 10 px per bar

  it("widens thin bands, merges touching ones and skips those out of view", () => {
    expect(firstBandFrom(bands, 2)).toBe(2);
    expect(firstBandFrom(bands, 100)).toBe(4);
    expect(bandRects(bands, { from: 0, to: 20 }, toX, 2)).toEqual([
      [14, 17],
      [50, 80],
    ]);
    expect(bandRects(bands, { from: 30, to: 50 }, toX, 2)).toEqual([[400, 410]]);
    expect(bandRects(bands, { from: 0, to: 20 }, () => null, 2)).toEqual([]);
  });
});

describe("the band primitive", () => {
  it("recomputes bands from its series' data and the gaps", () => {
    const subscribed: { handler: (() => void) | null } = { handler: null };
    let data = [{ time: 0 }, { time: 60 }, { time: 180 }];
    let updates = 0;
    const series = {
      data: () => data,
      subscribeDataChanged: (handler: () => void) => {
        subscribed.handler = handler;
      },
      unsubscribeDataChanged: () => {
        subscribed.handler = null;
      },
    };
    const chart = { timeScale: () => ({ getVisibleLogicalRange: () => ({ from: 0, to: 3 }), logicalToCoordinate: (l: number) => l * 10, timeToIndex: () => 0 }) };
    const primitive = new GapBandsPrimitive();
    primitive.setGaps([{ startMs: 2 * MIN, endMs: 3 * MIN, missing: 1 }], MIN);
    // The primitive only needs these members of the attached parameter.
    primitive.attached({ series, chart, requestUpdate: () => (updates += 1) } as unknown as Parameters<GapBandsPrimitive["attached"]>[0]);
    expect(primitive.currentBands()).toEqual([{ from: 1.5, to: 1.5, missing: 1 }]);
    expect(primitive.rectsInView()).toEqual([[12, 18]]); // 60 % of the 10 px bar spacing
    data = [{ time: 0 }, { time: 60 }, { time: 120 }, { time: 180 }]; // the missing minute arrived
    subscribed.handler?.();
    expect(primitive.currentBands()).toEqual([{ from: 1.5, to: 2.5, missing: 1 }]);
    expect(updates).toBe(2);
    primitive.detached();
    expect(subscribed.handler).toBeNull();
  });

  it("offsets the bands by where the series starts among the chart's points", () => {
    const series = { data: () => [{ time: 0 }, { time: 60 }, { time: 180 }], subscribeDataChanged: () => undefined, unsubscribeDataChanged: () => undefined };
    // Another series has five earlier points: this one's bar 0 is the chart's point 5.
    const chart = { timeScale: () => ({ getVisibleLogicalRange: () => ({ from: 5, to: 8 }), logicalToCoordinate: (l: number) => l * 10, timeToIndex: () => 5 }) };
    const primitive = new GapBandsPrimitive();
    primitive.attached({ series, chart, requestUpdate: () => undefined } as unknown as Parameters<GapBandsPrimitive["attached"]>[0]);
    primitive.setGaps([{ startMs: 2 * MIN, endMs: 3 * MIN, missing: 1 }], MIN);
    expect(primitive.rectsInView()).toEqual([[62, 68]]);
  });
});
