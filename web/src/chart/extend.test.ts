import { describe, expect, it } from "vitest";

import { maxBucketMs } from "../state/timeframe";
import { EDGE_SHARE, edgeToExtend, EXTEND_MAX_POINTS, extensionRequest, type Loaded, mergeExtension, reusableBucket, trimPartialEdges } from "./extend";
import type { Bar } from "./series";

const MIN = 60_000;
const DAY = 1440 * MIN;

const bar = (ts: number, close = 1): Bar => ({ ts, open: 1, high: 2, low: 0.5, close, volume: 10 });
const bars = (from: number, to: number, step: number): Bar[] => {
  const out: Bar[] = [];
  for (let t = from; t < to; t += step) out.push(bar(t));
  return out;
};

describe("edgeToExtend", () => {
  const covered = { fromMs: 100, toMs: 200 };
  const bounds = { fromMs: 0, toMs: 300 };
  it("asks for the left edge within 10% of the loaded bars when the dataset holds earlier bars", () => {
    expect(edgeToExtend(100, { from: 9, to: 50 }, covered, bounds)).toBe("left");
    expect(edgeToExtend(100, { from: 10 + 1e-9 + 100 * EDGE_SHARE - 10, to: 50 }, covered, bounds)).toBeNull();
    expect(edgeToExtend(100, { from: -30, to: 50 }, covered, bounds)).toBe("left");
  });
  it("asks for the right edge likewise", () => {
    expect(edgeToExtend(100, { from: 40, to: 91 }, covered, bounds)).toBe("right");
    expect(edgeToExtend(100, { from: 40, to: 88 }, covered, bounds)).toBeNull();
  });
  it("never beyond the dataset", () => {
    expect(edgeToExtend(100, { from: 0, to: 99 }, { fromMs: 0, toMs: 300 }, bounds)).toBeNull();
    expect(edgeToExtend(100, { from: 0, to: 99 }, covered, null)).toBeNull();
    expect(edgeToExtend(0, { from: 0, to: 1 }, covered, bounds)).toBeNull();
  });
  it("prefers the nearer edge when the view nears both", () => {
    expect(edgeToExtend(10, { from: -1, to: 9.5 }, covered, bounds)).toBe("left");
    expect(edgeToExtend(10, { from: 0.5, to: 12 }, covered, bounds)).toBe("right");
  });
});

describe("extensionRequest", () => {
  const loaded: Loaded = { bars: bars(1000 * MIN, 2000 * MIN, MIN), covered: { fromMs: 1000 * MIN, toMs: 2000 * MIN }, bucketMs: MIN };
  it("asks for the window just before the first bar, ending a millisecond before it", () => {
    const r = extensionRequest("left", loaded, { fromMs: 0, toMs: 10_000 * MIN }, 60 * MIN);
    expect(r).toEqual({ side: "left", window: { fromMs: 0, toMs: 1000 * MIN - 1 }, maxPoints: 1002 });
  });
  it("starts a right extension at the last bar and sizes max_points to keep the bucket", () => {
    const r = extensionRequest("right", loaded, { fromMs: 0, toMs: 10_000 * MIN }, 60 * MIN);
    expect(r?.window).toEqual({ fromMs: 1999 * MIN, toMs: 3000 * MIN });
    expect(r?.maxPoints).toBe(1003);
  });
  it("spans at most EXTEND_MAX_POINTS buckets and stays inside the bounds", () => {
    const wide: Loaded = { ...loaded, covered: { fromMs: 100_000 * MIN, toMs: 200_000 * MIN }, bars: [bar(100_000 * MIN)] };
    const r = extensionRequest("left", wide, { fromMs: 0, toMs: 300_000 * MIN }, 60 * MIN);
    expect(r?.window.fromMs).toBe((100_000 - EXTEND_MAX_POINTS) * MIN);
    expect(r?.maxPoints).toBe(EXTEND_MAX_POINTS + 2);
    expect(extensionRequest("left", loaded, { fromMs: 1000 * MIN, toMs: 3000 * MIN }, MIN)).toBeNull();
  });
});

describe("trimPartialEdges", () => {
  const window = { fromMs: 10 * DAY + 5 * MIN, toMs: 20 * DAY + 5 * MIN };
  const daily = bars(10 * DAY, 21 * DAY, DAY);
  it("drops a first bar that starts before the window and a last bar that may end after it", () => {
    const out = trimPartialEdges(daily, window, { fromMs: 0, toMs: 100 * DAY }, "1d", DAY);
    expect(out[0]?.ts).toBe(11 * DAY);
    expect(out[out.length - 1]?.ts).toBe(19 * DAY);
  });
  it("keeps the dataset's own first and last bars", () => {
    expect(trimPartialEdges(daily, window, { fromMs: 10 * DAY + 4 * 60 * MIN, toMs: 20 * DAY + MIN }, "1d", DAY)).toHaveLength(11);
  });
  it("keeps whole bars", () => {
    const aligned = { fromMs: 10 * DAY, toMs: 21 * DAY + 2 * 60 * MIN };
    expect(trimPartialEdges(daily, aligned, { fromMs: 0, toMs: 100 * DAY }, "1d", DAY)).toHaveLength(11);
    expect(maxBucketMs("1d")).toBe(DAY + 60 * MIN);
  });
});

describe("mergeExtension", () => {
  const bounds = { fromMs: 0, toMs: 10_000 * MIN };
  const loaded: Loaded = { bars: bars(1000 * MIN, 1100 * MIN, MIN), covered: { fromMs: 1000 * MIN, toMs: 1100 * MIN }, bucketMs: MIN };

  it("prepends older bars, dedupes, shifts the view by their number and moves the frontier", () => {
    const window = { fromMs: 900 * MIN, toMs: 1000 * MIN - 1 };
    const incoming = [...bars(900 * MIN, 1000 * MIN, MIN), bar(1000 * MIN, 99)]; // one repeat: the loaded bar stays
    const m = mergeExtension(loaded, { side: "left", window, bars: incoming, truncated: false }, bounds, "1m", { from: 2, to: 50 });
    expect(m?.shift).toBe(100);
    expect(m?.added).toBe(100);
    expect(m?.bars).toHaveLength(200);
    expect(m?.bars[100]?.close).toBe(1);
    expect(m?.covered).toEqual({ fromMs: 900 * MIN, toMs: 1100 * MIN });
    const times = m?.bars.map((b) => b.ts) ?? [];
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it("drops a partial first bar (it starts before the window), unless the window reaches the dataset's start", () => {
    const window = { fromMs: 950 * MIN + 30_000, toMs: 1000 * MIN - 1 };
    const incoming = bars(950 * MIN, 1000 * MIN, MIN);
    const m = mergeExtension(loaded, { side: "left", window, bars: incoming, truncated: false }, bounds, "1m", { from: 0, to: 10 });
    expect(m?.bars[0]?.ts).toBe(951 * MIN);
    expect(m?.covered.fromMs).toBe(window.fromMs);
    const atStart = mergeExtension(loaded, { side: "left", window, bars: incoming, truncated: false }, { fromMs: 951 * MIN, toMs: bounds.toMs }, "1m", { from: 0, to: 10 });
    expect(atStart?.bars[0]?.ts).toBe(950 * MIN);
  });

  it("moves the frontier only to the first bar of a truncated left answer (the server keeps the newest)", () => {
    const window = { fromMs: 0, toMs: 1000 * MIN - 1 };
    const m = mergeExtension(loaded, { side: "left", window, bars: bars(990 * MIN, 1000 * MIN, MIN), truncated: true }, bounds, "1m", { from: 0, to: 10 });
    expect(m?.covered.fromMs).toBe(990 * MIN);
    expect(m?.shift).toBe(10);
  });

  it("advances the frontier over an empty stretch", () => {
    const window = { fromMs: 500 * MIN, toMs: 1000 * MIN - 1 };
    const m = mergeExtension(loaded, { side: "left", window, bars: [], truncated: false }, bounds, "1m", { from: 0, to: 10 });
    expect(m).toMatchObject({ shift: 0, added: 0, covered: { fromMs: 500 * MIN, toMs: 1100 * MIN } });
    expect(m?.bars).toHaveLength(100);
  });

  it("appends newer bars, replacing the bar at the old last time, without shifting", () => {
    const window = { fromMs: 1099 * MIN, toMs: 1200 * MIN };
    const incoming = [bar(1099 * MIN, 7), ...bars(1100 * MIN, 1200 * MIN, MIN)];
    const m = mergeExtension(loaded, { side: "right", window, bars: incoming, truncated: false }, bounds, "1m", { from: 50, to: 99 });
    expect(m?.shift).toBe(0);
    expect(m?.added).toBe(100);
    expect(m?.bars).toHaveLength(200);
    expect(m?.bars[99]?.close).toBe(7);
    expect(m?.covered.toMs).toBe(1200 * MIN);
  });

  it("drops a last bar that may reach past the window, and refuses a truncated right answer (it would leave a gap)", () => {
    const window = { fromMs: 1099 * MIN, toMs: 1150 * MIN + 30_000 };
    const m = mergeExtension(loaded, { side: "right", window, bars: bars(1099 * MIN, 1151 * MIN, MIN), truncated: false }, bounds, "1m", { from: 50, to: 99 });
    expect(m?.bars[m.bars.length - 1]?.ts).toBe(1149 * MIN);
    expect(mergeExtension(loaded, { side: "right", window, bars: [], truncated: true }, bounds, "1m", { from: 0, to: 1 })).toBeNull();
  });

  it("keeps each bar's indicator values with it on both sides, the appended answer's values winning at the old last bar", () => {
    // Values as the server computes them: a function of the bar time (warmed up, so equal in every slice).
    const SMA = "ind:sma(20):real";
    const withValue = (b: Bar): Bar => ({ ...b, extra: { [SMA]: b.ts / MIN } });
    const base: Loaded = { ...loaded, bars: loaded.bars.map(withValue) };
    const left = mergeExtension(
      base,
      { side: "left", window: { fromMs: 900 * MIN, toMs: 1000 * MIN - 1 }, bars: bars(900 * MIN, 1000 * MIN, MIN).map(withValue), truncated: false },
      bounds,
      "1m",
      { from: 0, to: 10 },
    );
    expect(left?.bars.every((b) => b.extra?.[SMA] === b.ts / MIN)).toBe(true);
    const incoming = [{ ...bar(1099 * MIN, 7), extra: { [SMA]: -1 } }, ...bars(1100 * MIN, 1200 * MIN, MIN).map(withValue)];
    const right = mergeExtension(base, { side: "right", window: { fromMs: 1099 * MIN, toMs: 1200 * MIN }, bars: incoming, truncated: false }, bounds, "1m", { from: 50, to: 99 });
    expect(right?.bars[99]?.extra?.[SMA]).toBe(-1);
    expect(right?.bars.slice(100).every((b) => b.extra?.[SMA] === b.ts / MIN)).toBe(true);
    expect(right?.bars.slice(0, 99).every((b) => b.extra?.[SMA] === b.ts / MIN)).toBe(true);
  });

  it("keeps at most `cap` bars, dropping the far side but nothing in view", () => {
    const window = { fromMs: 900 * MIN, toMs: 1000 * MIN - 1 };
    const left = mergeExtension(loaded, { side: "left", window, bars: bars(900 * MIN, 1000 * MIN, MIN), truncated: false }, bounds, "1m", { from: 1, to: 20 }, 150);
    expect(left?.bars).toHaveLength(150);
    expect(left?.covered).toEqual({ fromMs: 900 * MIN, toMs: 1050 * MIN - 1 });
    const inView = mergeExtension(loaded, { side: "left", window, bars: bars(900 * MIN, 1000 * MIN, MIN), truncated: false }, bounds, "1m", { from: 1, to: 95 }, 150);
    expect(inView?.bars.length).toBeGreaterThanOrEqual(196);

    const rwin = { fromMs: 1099 * MIN, toMs: 1200 * MIN };
    const right = mergeExtension(loaded, { side: "right", window: rwin, bars: bars(1099 * MIN, 1200 * MIN, MIN), truncated: false }, bounds, "1m", { from: 80, to: 99 }, 150);
    expect(right?.bars).toHaveLength(150);
    expect(right?.shift).toBe(-50);
    expect(right?.covered.fromMs).toBe(1050 * MIN);
  });
});

describe("reusableBucket", () => {
  it("accepts only buckets that are timeframes", () => {
    expect(reusableBucket("5m", ["1m", "5m"] as const)).toBe("5m");
    expect(reusableBucket("1y", ["1m", "5m"] as const)).toBeNull();
    expect(reusableBucket(null, ["1m"] as const)).toBeNull();
  });
});
