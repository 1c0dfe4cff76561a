/**
 * Infinite scroll (pure): when the view nears an edge of the loaded bars and the dataset holds
 * more behind it, the slice just beyond that edge is loaded at the same bucket and merged in.
 *
 * Buckets are aligned in New York time (days, weeks, months of uneven length), and the server
 * aggregates only the raw bars inside the window asked for, so a bucket that straddles a window
 * edge comes back partial. To merge without ever showing a partial bar:
 *
 * - a left extension asks for `[from, first loaded bar − 1 ms]`: its end is a bucket start, so
 *   every bar it returns is whole except one that starts before `from` (dropped, and fetched
 *   whole by the next extension, whose window ends at the new first bar);
 * - a right extension asks for `[last loaded bar, to]`: its start is a bucket start, the bar
 *   at it replaces the loaded one, and a last bar that may reach past `to` is dropped;
 * - the first slice is trimmed the same way (`trimPartialEdges`).
 *
 * `covered` is how far raw bars have been asked for (the frontier), which decides whether there
 * is more to load; the loaded bars themselves may stop short of it by a dropped bar.
 */
import { maxBucketMs } from "../state/timeframe";
import type { Bar } from "./series";
import type { LogicalWindow, TimeWindow } from "./window";

export type Side = "left" | "right";

/** Near an edge: the visible range is within this share of the loaded bars from it. */
export const EDGE_SHARE = 0.1;
/** Each extension spans at least this many buckets (wall clock)… */
export const EXTEND_MIN_POINTS = 500;
/** …and at most this many. */
export const EXTEND_MAX_POINTS = 10_000;
/** The server's `max_points` limit. */
export const SERVER_MAX_POINTS = 50_000;
/** Most bars kept loaded; beyond it the far side (out of view) is dropped. */
export const MAX_LOADED_BARS = 60_000;

export interface Loaded {
  /** Whole bars, ascending, unique times. */
  bars: readonly Bar[];
  /** The raw-bar window asked for so far. */
  covered: TimeWindow;
  /** Bucket width, ms (nominal). */
  bucketMs: number;
}

/**
 * Which edge to extend, if any: the visible range `visible` (logical indexes into `count` bars)
 * is within `EDGE_SHARE` of the loaded bars (at least one bar) from an edge behind which
 * `bounds` holds more than `covered`. The nearer edge wins.
 */
export function edgeToExtend(count: number, visible: LogicalWindow, covered: TimeWindow, bounds: TimeWindow | null): Side | null {
  if (bounds === null || count === 0) return null;
  const margin = Math.max(1, count * EDGE_SHARE);
  const leftGap = visible.from;
  const rightGap = count - 1 - visible.to;
  const left = leftGap <= margin && covered.fromMs > bounds.fromMs;
  const right = rightGap <= margin && covered.toMs < bounds.toMs;
  if (left && right) return leftGap <= rightGap ? "left" : "right";
  return left ? "left" : right ? "right" : null;
}

export interface ExtensionRequest {
  side: Side;
  /** Inclusive window of raw bars to ask for, epoch ms. */
  window: TimeWindow;
  /** Enough points for every bucket of the window, so the server keeps the bucket. */
  maxPoints: number;
}

/**
 * The window of the next extension on `side`: as long as the visible window times two or what
 * is loaded already (so loading speeds up as the user keeps scrolling), within
 * [`EXTEND_MIN_POINTS`, `EXTEND_MAX_POINTS`] buckets, and clamped to `bounds`.
 *
 * @example
 * // minute bars loaded over [1000 min, 2000 min], viewing 60 min; bounds start at 0
 * extensionRequest("left", loaded, { fromMs: 0, toMs: 10_000 * MIN }, 60 * MIN)
 * // → { window: { fromMs: 0, toMs: 1000 * MIN - 1 }, maxPoints: 1002 }
 */
export function extensionRequest(side: Side, loaded: Loaded, bounds: TimeWindow, visibleMs: number): ExtensionRequest | null {
  const step = Math.max(1, loaded.bucketMs);
  const coveredMs = loaded.covered.toMs - loaded.covered.fromMs;
  const span = Math.min(EXTEND_MAX_POINTS * step, Math.max(EXTEND_MIN_POINTS * step, 2 * visibleMs, coveredMs));
  const first = loaded.bars[0]?.ts ?? loaded.covered.fromMs;
  const last = loaded.bars[loaded.bars.length - 1]?.ts ?? loaded.covered.toMs;
  const window: TimeWindow =
    side === "left"
      ? { fromMs: Math.floor(Math.max(bounds.fromMs, loaded.covered.fromMs - span)), toMs: Math.floor(first) - 1 }
      : { fromMs: Math.ceil(last), toMs: Math.ceil(Math.min(bounds.toMs, loaded.covered.toMs + span)) };
  if (!(window.toMs > window.fromMs)) return null;
  const maxPoints = Math.min(SERVER_MAX_POINTS, Math.ceil((window.toMs - window.fromMs) / step) + 2);
  return { side, window, maxPoints };
}

/**
 * Drops bars of `bars` (the answer for the inclusive `window`) that may be partial: a first bar
 * starting before the window, and a last bar whose bucket (at its widest) may end after it —
 * unless that edge is the dataset's own (`bounds`), where nothing is missing.
 */
export function trimPartialEdges(bars: readonly Bar[], window: TimeWindow, bounds: TimeWindow | null, bucket: string | null, bucketMs: number): Bar[] {
  let lo = 0;
  let hi = bars.length;
  const first = bars[0];
  if (first !== undefined && first.ts < window.fromMs && (bounds === null || window.fromMs > bounds.fromMs)) lo = 1;
  const last = bars[hi - 1];
  const widest = maxBucketMs(bucket) ?? bucketMs;
  if (hi - 1 >= lo && last !== undefined && last.ts + widest > window.toMs + 1 && (bounds === null || window.toMs < bounds.toMs - 1)) hi -= 1;
  return lo === 0 && hi === bars.length ? [...bars] : bars.slice(lo, hi);
}

export interface Extension {
  side: Side;
  window: TimeWindow;
  /** The answer's bars, ascending. */
  bars: readonly Bar[];
  /** The server cut the answer short (it keeps the newest bars). */
  truncated: boolean;
}

export interface Merged {
  bars: Bar[];
  covered: TimeWindow;
  /** Add to logical indexes of the old bars to get the same bars' new indexes. */
  shift: number;
  /** Bars the extension added (after dedupe and trimming). */
  added: number;
}

/**
 * Merges an extension into the loaded bars (deduped by time; on a right extension the bar at the
 * old last time is replaced), updates the frontier, and keeps at most `cap` bars by dropping the
 * far side — never a bar of the `visible` range (old logical indexes). Answers `null` when the
 * extension cannot be merged without a gap (a truncated right extension).
 */
export function mergeExtension(
  loaded: Loaded,
  ext: Extension,
  bounds: TimeWindow | null,
  bucket: string | null,
  visible: LogicalWindow,
  cap: number = MAX_LOADED_BARS,
): Merged | null {
  const old = loaded.bars;
  const first = old[0];
  const last = old[old.length - 1];
  let bars: Bar[];
  let covered: TimeWindow;
  let shift: number;
  let added: number;
  if (ext.side === "left") {
    const atStart = bounds !== null && ext.window.fromMs <= bounds.fromMs;
    const incoming = ext.bars.filter((b) => (first === undefined || b.ts < first.ts) && (ext.truncated || atStart || b.ts >= ext.window.fromMs));
    const frontier = ext.truncated ? (incoming[0]?.ts ?? ext.window.fromMs) : ext.window.fromMs;
    covered = { fromMs: Math.min(loaded.covered.fromMs, frontier), toMs: loaded.covered.toMs };
    bars = [...incoming, ...old];
    shift = incoming.length;
    added = incoming.length;
  } else {
    if (ext.truncated) return null;
    const trimmed = trimPartialEdges(ext.bars, ext.window, bounds, bucket, loaded.bucketMs);
    const incoming = trimmed.filter((b) => last === undefined || b.ts >= last.ts);
    const replaces = last !== undefined && incoming[0]?.ts === last.ts;
    bars = replaces ? [...old.slice(0, -1), ...incoming] : [...old, ...incoming];
    covered = { fromMs: loaded.covered.fromMs, toMs: Math.max(loaded.covered.toMs, ext.window.toMs) };
    shift = 0;
    added = incoming.length - (replaces ? 1 : 0);
  }
  // Keep within the cap, dropping the side away from the extension but nothing in view.
  const excess = bars.length - cap;
  if (excess > 0) {
    if (ext.side === "left") {
      const keepTo = Math.max(0, Math.ceil(visible.to + shift) + 1);
      const cut = Math.max(keepTo + 1, bars.length - excess);
      const dropped = bars[cut];
      if (cut < bars.length && dropped !== undefined) {
        bars = bars.slice(0, cut);
        covered = { fromMs: covered.fromMs, toMs: dropped.ts - 1 };
      }
    } else {
      const keepFrom = Math.max(0, Math.floor(visible.from) - 1);
      const cut = Math.min(keepFrom, excess);
      const kept = bars[cut];
      if (cut > 0 && kept !== undefined) {
        bars = bars.slice(cut);
        covered = { fromMs: kept.ts, toMs: covered.toMs };
        shift -= cut;
      }
    }
  }
  return { bars, covered, shift, added };
}

/** Whether a bucket named `bucket` can be asked for again as a timeframe. */
export function reusableBucket<T extends string>(bucket: string | null, timeframes: readonly T[]): T | null {
  return timeframes.find((tf) => tf === bucket) ?? null;
}
