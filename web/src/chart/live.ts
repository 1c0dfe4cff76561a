/**
 * Live minute bars on a chart (pure): parsing `stock_update` events, the New York-aligned bucket a
 * minute falls in, and merging minutes into the last bar shown.
 *
 * The server sends each minute of a subscribed symbol as it forms (`closed: false`, repeated as it
 * changes) and once more when it closes (`closed: true`, stored by then). A chart may show wider
 * buckets than a minute, so the last bar is `base` (what the bucket held before the minute in
 * progress) merged with the minute in progress. A closed minute joins `base` at once — an
 * optimistic merge, since the chart cannot tell whether the bars it loaded already held that
 * minute — and the caller reloads the last bucket from the server to make it exact.
 */
import type { StockUpdate } from "../api/events";
import { messageObject } from "../api/socket";
import type { Bar } from "./series";
import { MARKET_TZ, zonedParts } from "./time";

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

/** A `stock_update` event from a socket message, or `null` for anything else. */
export function parseStockUpdate(data: unknown): StockUpdate | null {
  const value = messageObject(data);
  if (value === null) return null;
  const e = value as Partial<StockUpdate>;
  const numbers = [e.ts, e.open, e.high, e.low, e.close, e.volume];
  if (e.type !== "stock_update" || typeof e.symbol !== "string" || typeof e.adjusted !== "boolean" || typeof e.closed !== "boolean") return null;
  if (!numbers.every((n) => typeof n === "number" && Number.isFinite(n)) || !Array.isArray(e.series)) return null;
  return e as StockUpdate;
}

/** How far New York wall-clock time is ahead of UTC at instant `ms` (negative: behind). */
function offsetMs(ms: number): number {
  const p = zonedParts(ms, MARKET_TZ);
  const wall = Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute), Number(p.second));
  return wall - (ms - (((ms % 1000) + 1000) % 1000));
}

/** The UTC instant of a New York wall-clock time (given as if it were UTC). */
function wallToUtc(wall: number): number {
  const guess = wall - offsetMs(wall);
  return wall - offsetMs(guess);
}

/**
 * Start (epoch ms) of the `bucket`-wide bar that holds instant `ms`, aligned as the server aligns
 * them: in New York time, days from midnight, weeks from Monday, months from the 1st; `null` for
 * a width it does not know.
 *
 * @example bucketStartMs(Date.UTC(2024, 2, 12, 23, 30), "4h") // Date.UTC(2024, 2, 12, 20) (16:00 EDT)
 */
export function bucketStartMs(ms: number, bucket: string): number | null {
  const match = /^(\d+)([smhdwMy])$/.exec(bucket.trim());
  if (match === null) return null;
  const count = Number(match[1]);
  const unit = match[2];
  if (!Number.isInteger(count) || count < 1) return null;
  const wall = ms + offsetMs(ms);
  const date = new Date(wall);
  const floor = (step: number): number => Math.floor(wall / step) * step;
  let start: number;
  switch (unit) {
    case "s":
      return Math.floor(ms / (count * 1000)) * count * 1000;
    case "m":
      start = floor(count * MINUTE_MS);
      break;
    case "h":
      start = floor(count * HOUR_MS);
      break;
    case "d":
      if (count !== 1) return null;
      start = floor(DAY_MS);
      break;
    case "w":
      if (count !== 1) return null;
      start = floor(DAY_MS) - ((date.getUTCDay() + 6) % 7) * DAY_MS;
      break;
    case "M": {
      if (12 % count !== 0) return null;
      const month = Math.floor(date.getUTCMonth() / count) * count;
      start = Date.UTC(date.getUTCFullYear(), month, 1);
      break;
    }
    case "y":
      if (count !== 1) return null;
      start = Date.UTC(date.getUTCFullYear(), 0, 1);
      break;
    default:
      return null;
  }
  return wallToUtc(start);
}

/** Whether the minute starting at `ms` lies in the regular session (09:30–16:00 New York). */
export function inRegularSession(ms: number): boolean {
  const p = zonedParts(ms, MARKET_TZ);
  const minute = Number(p.hour) * 60 + Number(p.minute);
  return minute >= 570 && minute < 960;
}

/** What the merge remembers about the bucket being formed. */
export interface LiveMemo {
  bucketTs: number;
  /** The bucket without the minute in progress (`null`: nothing yet). */
  base: Bar | null;
  /** The minute in progress, as last sent. */
  forming: StockUpdate | null;
  /** The newest closed minute merged into `base`. */
  closedThrough: number;
}

export interface LiveMerge {
  /** The bars with the last one replaced or a new one appended. */
  bars: Bar[];
  /** The bar that changed (for lightweight-charts' `update`). */
  bar: Bar;
  appended: boolean;
  memo: LiveMemo;
}

function merged(base: Bar | null, minute: StockUpdate, ts: number): Bar {
  if (base === null) return { ts, open: minute.open, high: minute.high, low: minute.low, close: minute.close, volume: minute.volume };
  return {
    ts,
    open: base.open,
    high: Math.max(base.high, minute.high),
    low: Math.min(base.low, minute.low),
    close: minute.close,
    volume: base.volume + minute.volume,
    // Indicator values stay those of the bucket as last loaded until the refresh after it closes.
    ...(base.extra !== undefined ? { extra: base.extra } : {}),
  };
}

/**
 * Merges one live minute into `bars` (ascending) shown at `bucket` width.
 *
 * Returns `null` when the minute changes nothing shown: its bucket is older than the last bar,
 * the width is unknown, or it is a forming minute that has since closed. `memo` must be the one a
 * previous call returned for these same bars (`null` after the bars were loaded afresh).
 */
export function mergeLiveMinute(bars: readonly Bar[], memo: LiveMemo | null, minute: StockUpdate, bucket: string): LiveMerge | null {
  const ts = bucketStartMs(minute.ts, bucket);
  if (ts === null) return null;
  const last = bars[bars.length - 1];
  if (last !== undefined && ts < last.ts) return null;
  const current: LiveMemo =
    memo !== null && memo.bucketTs === ts ? memo : { bucketTs: ts, base: last !== undefined && last.ts === ts ? last : null, forming: null, closedThrough: -Infinity };
  let next: LiveMemo;
  if (minute.closed) {
    if (minute.ts <= current.closedThrough) return null;
    const forming = current.forming !== null && current.forming.ts > minute.ts ? current.forming : null;
    next = { bucketTs: ts, base: merged(current.base, minute, ts), forming, closedThrough: minute.ts };
  } else {
    if (minute.ts <= current.closedThrough) return null;
    next = { ...current, forming: minute };
  }
  const base = next.base;
  const bar = next.forming !== null ? merged(base, next.forming, ts) : base;
  if (bar === null) return null;
  const appended = last === undefined || last.ts !== ts;
  return { bars: appended ? [...bars, bar] : [...bars.slice(0, -1), bar], bar, appended, memo: next };
}
