/**
 * The maths of slice loading (pure): logical index ↔ time, the visible window, the pixel
 * budget, and whether a pan or zoom calls for a new slice.
 *
 * A "slice" is what one chart-data request returned: bars over a requested window at the bucket
 * the server chose. The chart's logical index `i` is the i-th bar of the slice; logical values
 * outside `[0, n-1]` are the empty space beyond the data, extrapolated with the bucket width.
 */
import { TIMEFRAMES, timeframeMs } from "../state/timeframe";

export interface TimeWindow {
  fromMs: number;
  toMs: number;
}

export interface LogicalWindow {
  from: number;
  to: number;
}

export interface LoadedSlice {
  /** The window that was asked for. */
  request: TimeWindow;
  /** Bar times, epoch ms ascending. */
  timesMs: readonly number[];
  /** Width of the bars the server used, ms. */
  bucketMs: number;
  /** The server cut the answer short (it may not cover the whole request). */
  truncated: boolean;
}

export const MAX_POINTS_CAP = 5000;
export const MIN_POINTS = 200;
/** Zoomed in when fewer than this share of the loaded bars is visible. */
export const ZOOM_IN_SHARE = 1 / 3;
/** How close (in bars) to the first/last loaded bar counts as "at the edge". */
export const EDGE_BARS = 1;

/** The pixel budget for a chart this many px wide: 2 points per px, within [200, 5000]. */
export function maxPointsForWidth(widthPx: number): number {
  if (!Number.isFinite(widthPx) || widthPx <= 0) return 2000;
  return Math.max(MIN_POINTS, Math.min(MAX_POINTS_CAP, Math.round(widthPx * 2)));
}

/** The time at a (possibly fractional or out-of-range) logical index. */
export function logicalToTimeMs(timesMs: readonly number[], logical: number, bucketMs: number): number {
  const n = timesMs.length;
  const first = timesMs[0];
  const last = timesMs[n - 1];
  if (first === undefined || last === undefined) return 0;
  if (logical <= 0) return first + logical * bucketMs;
  if (logical >= n - 1) return last + (logical - (n - 1)) * bucketMs;
  const lo = Math.floor(logical);
  const a = timesMs[lo] ?? first;
  const b = timesMs[lo + 1] ?? a;
  return a + (logical - lo) * (b - a);
}

/** The (fractional) logical index of a time; the inverse of `logicalToTimeMs`. */
export function timeToLogical(timesMs: readonly number[], tMs: number, bucketMs: number): number {
  const n = timesMs.length;
  const first = timesMs[0];
  const last = timesMs[n - 1];
  if (first === undefined || last === undefined) return 0;
  const step = bucketMs > 0 ? bucketMs : 1;
  if (tMs <= first) return (tMs - first) / step;
  if (tMs >= last) return n - 1 + (tMs - last) / step;
  let lo = 0;
  let hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if ((timesMs[mid] ?? 0) <= tMs) lo = mid;
    else hi = mid;
  }
  const a = timesMs[lo] ?? first;
  const b = timesMs[hi] ?? a;
  return b > a ? lo + (tMs - a) / (b - a) : lo;
}

/** The visible time window for a logical range over the loaded bars. */
export function visibleTimeWindow(timesMs: readonly number[], range: LogicalWindow, bucketMs: number): TimeWindow {
  return { fromMs: logicalToTimeMs(timesMs, range.from, bucketMs), toMs: logicalToTimeMs(timesMs, range.to, bucketMs) };
}

/** How many loaded bars a logical range shows. */
export function barsVisible(barCount: number, range: LogicalWindow): number {
  if (barCount === 0) return 0;
  const from = Math.max(0, Math.ceil(range.from));
  const to = Math.min(barCount - 1, Math.floor(range.to));
  return Math.max(0, to - from + 1);
}

/** Clamps a window to `[bounds.fromMs, bounds.toMs]` (keeping it non-empty). */
export function clampWindow(window: TimeWindow, bounds: TimeWindow | null): TimeWindow {
  if (bounds === null) return window;
  const fromMs = Math.max(bounds.fromMs, Math.min(window.fromMs, bounds.toMs));
  const toMs = Math.min(bounds.toMs, Math.max(window.toMs, bounds.fromMs));
  return toMs > fromMs ? { fromMs, toMs } : { fromMs: bounds.fromMs, toMs: bounds.toMs };
}

/**
 * The window to load for a visible window: padded by one window-width each side, clamped to
 * the dataset's bounds.
 *
 * @example padWindow({ fromMs: 10, toMs: 20 }, { fromMs: 0, toMs: 100 }) // { fromMs: 0, toMs: 30 }
 */
export function padWindow(visible: TimeWindow, bounds: TimeWindow | null): TimeWindow {
  const width = Math.max(1, visible.toMs - visible.fromMs);
  return clampWindow({ fromMs: Math.floor(visible.fromMs - width), toMs: Math.ceil(visible.toMs + width) }, bounds);
}

/**
 * The bar width a server with the standard ladder (1m … 1M) would pick for a window under a
 * point budget: the finest ladder width not finer than the timeframe that fits.
 */
export function estimateBucketMs(window: TimeWindow, maxPoints: number, tfMs: number): number {
  const needed = Math.max(tfMs, (window.toMs - window.fromMs) / Math.max(1, maxPoints));
  for (const tf of TIMEFRAMES) {
    const ms = timeframeMs(tf);
    if (ms >= needed) return ms;
  }
  return timeframeMs("1M");
}

/**
 * Like `estimateBucketMs`, but from the bars actually seen. Markets are closed most of the time
 * (nights, weekends), so a window holds far fewer bars than its length over the bar width, and
 * the server, which counts real bars, answers with finer buckets than the wall clock suggests.
 * Scales `seenBars` (at width `bucketMs` over `seen`) to `target`, assuming a width `k` times
 * narrower yields at most `k` times as many bars.
 *
 * @example
 * // 21 four-hour bars a week (16-hour sessions, weekdays) → a month fits at 1h in 500 points.
 * estimateBucketMsFromBars(21, { fromMs: 0, toMs: 7 * DAY }, 4 * HOUR, { fromMs: 0, toMs: 30 * DAY }, 500, MIN) // HOUR
 */
export function estimateBucketMsFromBars(
  seenBars: number,
  seen: TimeWindow,
  bucketMs: number,
  target: TimeWindow,
  maxPoints: number,
  tfMs: number,
): number {
  const wallClock = estimateBucketMs(target, maxPoints, tfMs);
  const seenMs = seen.toMs - seen.fromMs;
  if (seenBars <= 0 || !(seenMs > 0)) return wallClock;
  const barsAtBucket = (seenBars * (target.toMs - target.fromMs)) / seenMs;
  for (const tf of TIMEFRAMES) {
    const ms = timeframeMs(tf);
    if (ms < tfMs) continue;
    if (ms >= wallClock) break;
    if ((barsAtBucket * bucketMs) / ms <= maxPoints) return ms;
  }
  return wallClock;
}

/** Whether two windows are the same to within one bar. */
export function sameWindow(a: TimeWindow, b: TimeWindow, toleranceMs: number): boolean {
  return Math.abs(a.fromMs - b.fromMs) <= toleranceMs && Math.abs(a.toMs - b.toMs) <= toleranceMs;
}

export interface RefetchInput {
  loaded: LoadedSlice;
  visible: LogicalWindow;
  /** The timeframe asked for, ms. */
  timeframeMs: number;
  /** Everything the dataset holds (first bar … end of last bar); `null` when unknown. */
  bounds: TimeWindow | null;
  maxPoints: number;
  /** Whether reaching an edge reloads (default); `false` when edges are extended instead (see `extend.ts`). */
  edges?: boolean;
}

export type RefetchReason = "zoom-in" | "zoom-out" | "edge-left" | "edge-right";

export interface RefetchDecision {
  window: TimeWindow;
  /** The visible time window to keep after the new slice is set. */
  visible: TimeWindow;
  reasons: RefetchReason[];
}

/**
 * Whether the view calls for a new slice, and which window to load.
 *
 * A new slice is loaded when the user has zoomed in (fewer than a third of the loaded bars
 * visible, the bucket is wider than the timeframe, and the padded window would come back at a
 * finer bucket, judged from the bars in view: see `estimateBucketMsFromBars`), has zoomed out
 * (more bars in view than the pixel budget, and a wider bucket exists), or — unless `edges` is
 * false — has scrolled to an edge of the loaded bars behind which the dataset holds more.
 * Answers `null` otherwise, and when the window to load is the one already loaded — so setting
 * the new slice can never start a loop.
 */
export function decideRefetch(input: RefetchInput): RefetchDecision | null {
  const { loaded, visible, bounds, maxPoints } = input;
  const n = loaded.timesMs.length;
  const first = loaded.timesMs[0];
  const last = loaded.timesMs[n - 1];
  if (first === undefined || last === undefined) return null;

  const visibleTime = visibleTimeWindow(loaded.timesMs, visible, loaded.bucketMs);
  if (!(visibleTime.toMs > visibleTime.fromMs)) return null;
  const target = padWindow(visibleTime, bounds);

  const reasons: RefetchReason[] = [];
  const shown = barsVisible(n, visible);
  if (
    shown < n * ZOOM_IN_SHARE &&
    loaded.bucketMs > input.timeframeMs &&
    estimateBucketMsFromBars(shown, visibleTime, loaded.bucketMs, target, maxPoints, input.timeframeMs) < loaded.bucketMs
  ) {
    reasons.push("zoom-in");
  }
  if (shown > maxPoints && loaded.bucketMs < timeframeMs("1M")) reasons.push("zoom-out");

  // What the loaded bars cover: the request, or only the bars themselves when truncated.
  const coveredFrom = loaded.truncated ? first : loaded.request.fromMs;
  const coveredTo = loaded.truncated ? last + loaded.bucketMs : loaded.request.toMs;
  const moreLeft = bounds === null ? false : coveredFrom > bounds.fromMs;
  const moreRight = bounds === null ? false : coveredTo < bounds.toMs;
  const edges = input.edges ?? true;
  if (edges && visible.from <= EDGE_BARS && moreLeft) reasons.push("edge-left");
  if (edges && visible.to >= n - 1 - EDGE_BARS && moreRight) reasons.push("edge-right");

  if (reasons.length === 0) return null;
  if (sameWindow(target, loaded.request, loaded.bucketMs)) return null;
  return { window: target, visible: visibleTime, reasons };
}
