import { describe, expect, it } from "vitest";

import {
  barsVisible,
  decideRefetch,
  estimateBucketMs,
  estimateBucketMsFromBars,
  type LoadedSlice,
  logicalToTimeMs,
  maxPointsForWidth,
  padWindow,
  type TimeWindow,
  timeToLogical,
} from "./window";

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

/** A stand-in server: the ladder bucket for the budget, bars at every bucket start in the window. */
function serve(window: TimeWindow, bounds: TimeWindow, tfMs: number, maxPoints: number): LoadedSlice {
  const bucketMs = estimateBucketMs(window, maxPoints, tfMs);
  const timesMs: number[] = [];
  const start = Math.max(window.fromMs, bounds.fromMs);
  const end = Math.min(window.toMs, bounds.toMs);
  for (let t = Math.ceil(start / bucketMs) * bucketMs; t < end; t += bucketMs) timesMs.push(t);
  return { request: window, timesMs, bucketMs, truncated: false };
}

function logicalOf(slice: LoadedSlice, visible: TimeWindow) {
  return { from: timeToLogical(slice.timesMs, visible.fromMs, slice.bucketMs), to: timeToLogical(slice.timesMs, visible.toMs, slice.bucketMs) };
}

describe("logical ↔ time", () => {
  const times = [0, 10, 20, 40];
  it("interpolates inside and extrapolates outside the bars", () => {
    expect(logicalToTimeMs(times, 1.5, 10)).toBe(15);
    expect(logicalToTimeMs(times, 2.5, 10)).toBe(30);
    expect(logicalToTimeMs(times, -2, 10)).toBe(-20);
    expect(logicalToTimeMs(times, 5, 10)).toBe(60);
  });
  it("inverts", () => {
    for (const logical of [-3, -0.5, 0, 0.25, 1, 2.75, 3, 4.5]) {
      expect(timeToLogical(times, logicalToTimeMs(times, logical, 10), 10)).toBeCloseTo(logical, 9);
    }
  });
  it("answers 0 for no bars", () => {
    expect(timeToLogical([], 5, 10)).toBe(0);
    expect(logicalToTimeMs([], 5, 10)).toBe(0);
  });
});

describe("small helpers", () => {
  it("counts visible bars", () => {
    expect(barsVisible(100, { from: -5, to: 200 })).toBe(100);
    expect(barsVisible(100, { from: 10.2, to: 19.8 })).toBe(9);
    expect(barsVisible(0, { from: 0, to: 10 })).toBe(0);
  });
  it("pads by one width each side, within bounds", () => {
    expect(padWindow({ fromMs: 100, toMs: 200 }, null)).toEqual({ fromMs: 0, toMs: 300 });
    expect(padWindow({ fromMs: 100, toMs: 200 }, { fromMs: 50, toMs: 1000 })).toEqual({ fromMs: 50, toMs: 300 });
  });
  it("budgets two points per pixel, capped", () => {
    expect(maxPointsForWidth(800)).toBe(1600);
    expect(maxPointsForWidth(4000)).toBe(5000);
    expect(maxPointsForWidth(10)).toBe(200);
    expect(maxPointsForWidth(0)).toBe(2000);
  });
  it("estimates the ladder bucket", () => {
    expect(estimateBucketMs({ fromMs: 0, toMs: 1000 * DAY }, 2000, MIN)).toBe(DAY);
    expect(estimateBucketMs({ fromMs: 0, toMs: 1000 * MIN }, 2000, MIN)).toBe(MIN);
    expect(estimateBucketMs({ fromMs: 0, toMs: 1000 * MIN }, 2000, HOUR)).toBe(HOUR);
  });
});

describe("estimateBucketMsFromBars", () => {
  const week = { fromMs: 0, toMs: 7 * DAY };
  it("counts real bars, not wall-clock time", () => {
    // 16-hour sessions on weekdays: 21 four-hour bars a week.
    const month = { fromMs: 0, toMs: 30 * DAY };
    expect(estimateBucketMs(month, 500, MIN)).toBe(4 * HOUR);
    expect(estimateBucketMsFromBars(21, week, 4 * HOUR, month, 500, MIN)).toBe(HOUR);
  });
  it("never answers coarser than the wall-clock estimate, nor finer than the timeframe", () => {
    const month = { fromMs: 0, toMs: 30 * DAY };
    expect(estimateBucketMsFromBars(10_000, week, MIN, month, 500, MIN)).toBe(estimateBucketMs(month, 500, MIN));
    expect(estimateBucketMsFromBars(1, week, 4 * HOUR, month, 5000, 15 * MIN)).toBe(15 * MIN);
  });
  it("falls back to the wall clock without bars", () => {
    expect(estimateBucketMsFromBars(0, week, 4 * HOUR, week, 500, MIN)).toBe(estimateBucketMs(week, 500, MIN));
  });
});

describe("decideRefetch", () => {
  const bounds = { fromMs: 0, toMs: 3650 * DAY }; // ten years of minute bars
  const maxPoints = 5000;
  const whole = serve(bounds, bounds, MIN, maxPoints);

  it("does nothing while the whole dataset is in view", () => {
    expect(whole.bucketMs).toBe(DAY);
    const visible = { from: 0, to: whole.timesMs.length - 1 };
    expect(decideRefetch({ loaded: whole, visible, timeframeMs: MIN, bounds, maxPoints })).toBeNull();
  });

  it("loads a wider bucket when zoomed out past the pixel budget, and leaves edges to extensions when told", () => {
    const minutes = serve({ fromMs: 100 * DAY, toMs: 106 * DAY }, bounds, MIN, 10_000);
    expect(minutes.bucketMs).toBe(MIN);
    const all = { from: 0, to: minutes.timesMs.length - 1 };
    const decision = decideRefetch({ loaded: minutes, visible: all, timeframeMs: MIN, bounds, maxPoints: 2000, edges: false });
    expect(decision?.reasons).toEqual(["zoom-out"]);
    expect(decision?.window).toEqual({ fromMs: 94 * DAY + MIN, toMs: 112 * DAY - 2 * MIN }); // padded by the view's width each side
    const few = { from: 100, to: 1500 };
    expect(decideRefetch({ loaded: minutes, visible: few, timeframeMs: MIN, bounds, maxPoints: 2000, edges: false })).toBeNull();
    expect(decideRefetch({ loaded: minutes, visible: { from: 0, to: 1500 }, timeframeMs: MIN, bounds, maxPoints: 2000 })?.reasons).toEqual(["edge-left"]);
  });

  it("loads a finer slice, padded, when zoomed in on a coarse bucket", () => {
    const visible = { from: 1000, to: 1100 };
    const decision = decideRefetch({ loaded: whole, visible, timeframeMs: MIN, bounds, maxPoints });
    expect(decision?.reasons).toEqual(["zoom-in"]);
    expect(decision?.visible).toEqual({ fromMs: 1000 * DAY, toMs: 1100 * DAY });
    expect(decision?.window).toEqual({ fromMs: 900 * DAY, toMs: 1200 * DAY });
  });

  it("does not zoom when the bucket is already the timeframe", () => {
    const visible = { from: 1000, to: 1100 };
    expect(decideRefetch({ loaded: whole, visible, timeframeMs: DAY, bounds, maxPoints })).toBeNull();
  });

  it("does not zoom when the padded window would come back at the same bucket", () => {
    const visible = { from: 1000, to: 1500 }; // 1500 days padded → still daily bars for 2000 points
    expect(decideRefetch({ loaded: whole, visible, timeframeMs: MIN, bounds, maxPoints })).toBeNull();
  });

  it("zooms in on session-hours bars that the wall clock says would not fit", () => {
    // A year of 4h bars over 16-hour weekday sessions; a month in view, 1680 points.
    const timesMs: number[] = [];
    for (let day = 0; day < 365; day += 1) {
      if (day % 7 >= 5) continue;
      for (const hour of [4, 8, 12, 16]) timesMs.push(day * DAY + hour * HOUR);
    }
    const year = { fromMs: 0, toMs: 365 * DAY };
    const loaded: LoadedSlice = { request: year, timesMs, bucketMs: 4 * HOUR, truncated: false };
    const visible = logicalOf(loaded, { fromMs: 200 * DAY, toMs: 231 * DAY });
    const decision = decideRefetch({ loaded, visible, timeframeMs: MIN, bounds: year, maxPoints: 1680 });
    expect(decision?.reasons).toEqual(["zoom-in"]);
  });

  it("extends at an edge only when the dataset holds more there", () => {
    const middle = serve({ fromMs: 1000 * DAY, toMs: 1010 * DAY }, bounds, MIN, maxPoints);
    const n = middle.timesMs.length;
    const left = decideRefetch({ loaded: middle, visible: { from: -20, to: n / 2 }, timeframeMs: MIN, bounds, maxPoints });
    expect(left?.reasons).toContain("edge-left");
    const inside = decideRefetch({ loaded: middle, visible: { from: 10, to: n - 10 }, timeframeMs: middle.bucketMs, bounds, maxPoints });
    expect(inside).toBeNull();
    const right = decideRefetch({ loaded: middle, visible: { from: n / 2, to: n + 3 }, timeframeMs: MIN, bounds, maxPoints });
    expect(right?.reasons).toContain("edge-right");
    const atStart = serve({ fromMs: 0, toMs: 10 * DAY }, bounds, 5 * MIN, maxPoints);
    expect(atStart.bucketMs).toBe(5 * MIN);
    expect(decideRefetch({ loaded: atStart, visible: { from: -5, to: 100 }, timeframeMs: 5 * MIN, bounds, maxPoints })).toBeNull();
  });

  it("trusts only the bars of a truncated answer", () => {
    // Asked for everything, got the first ten days.
    const served = { ...serve({ fromMs: 0, toMs: 10 * DAY }, bounds, 5 * MIN, maxPoints), request: bounds };
    const n = served.timesMs.length;
    const input = { visible: { from: n - 50, to: n + 10 }, timeframeMs: 5 * MIN, bounds, maxPoints };
    expect(decideRefetch({ ...input, loaded: { ...served, truncated: false } })).toBeNull();
    expect(decideRefetch({ ...input, loaded: { ...served, truncated: true } })?.reasons).toEqual(["edge-right"]);
  });

  it("never asks again right after its own slice is set (no loops)", () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    let decided = 0;
    for (let trial = 0; trial < 500; trial += 1) {
      const tfMs = [MIN, 5 * MIN, HOUR, DAY][Math.floor(random() * 4)] ?? MIN;
      const points = 200 + Math.floor(random() * 4800);
      const width = Math.max(10 * tfMs, random() ** 4 * bounds.toMs);
      const from = random() * (bounds.toMs - width);
      const visibleTime = { fromMs: from, toMs: from + width };
      let loaded = serve(bounds, bounds, tfMs, points);
      const first = decideRefetch({ loaded, visible: logicalOf(loaded, visibleTime), timeframeMs: tfMs, bounds, maxPoints: points });
      if (first === null) continue;
      decided += 1;
      loaded = serve(first.window, bounds, tfMs, points);
      const again = decideRefetch({ loaded, visible: logicalOf(loaded, first.visible), timeframeMs: tfMs, bounds, maxPoints: points });
      expect(again, `trial ${trial}`).toBeNull();
    }
    expect(decided).toBeGreaterThan(100);
  });
});
