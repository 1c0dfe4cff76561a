/**
 * The closed vocabulary of chart timeframes and bar widths, and their durations.
 *
 * A timeframe is what the user asks for (`1m` … `1M`); a bucket is the bar width the server
 * actually used (`X-K2Q-Bucket`), which may be wider when the window holds more bars than the
 * pixel budget. Both use the same notation: a count and a unit, `s m h d w M q y`.
 */
import type { Dataset, Timeframe } from "../api/types";

export const TIMEFRAMES = ["1m", "5m", "15m", "30m", "1h", "4h", "1d", "1w", "1M"] as const satisfies readonly Timeframe[];

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Nominal unit lengths; months, quarters and years are averages, good for comparisons. */
const UNIT_MS: Record<string, number> = {
  s: SECOND,
  m: MINUTE,
  h: HOUR,
  d: DAY,
  w: 7 * DAY,
  M: 30 * DAY,
  q: 91 * DAY,
  y: 365 * DAY,
};

const TIMESPAN_MS: Record<Dataset["timespan"], number> = {
  second: SECOND,
  minute: MINUTE,
  hour: HOUR,
  day: DAY,
  week: 7 * DAY,
  month: 30 * DAY,
  quarter: 91 * DAY,
  year: 365 * DAY,
};

export const DAY_MS = DAY;

/** Whether `value` is one of the timeframes the chart offers. */
export function isTimeframe(value: string | null | undefined): value is Timeframe {
  return value !== null && value !== undefined && (TIMEFRAMES as readonly string[]).includes(value);
}

/**
 * Duration of a bar width such as `5m`, `1h`, `1d`, `1M` in ms, or `null` when unparseable.
 *
 * @example bucketMs("15m") // 900000
 */
export function bucketMs(bucket: string | null | undefined): number | null {
  if (bucket === null || bucket === undefined) return null;
  const match = /^(\d+)\s*([smhdwMqy])$/.exec(bucket.trim());
  if (match === null) return null;
  const count = Number(match[1]);
  const unit = UNIT_MS[match[2] ?? ""];
  if (unit === undefined || !Number.isFinite(count) || count <= 0) return null;
  return count * unit;
}

/** Duration of a timeframe in ms. */
export function timeframeMs(tf: Timeframe): number {
  return bucketMs(tf) ?? DAY;
}

/** Duration of one stored bar of a dataset in ms (timespan × multiplier). */
export function datasetBarMs(dataset: Pick<Dataset, "timespan" | "multiplier">): number {
  return TIMESPAN_MS[dataset.timespan] * Math.max(1, dataset.multiplier);
}

/** The finest timeframe that is not finer than the dataset's own bars (its natural default). */
export function nativeTimeframe(dataset: Pick<Dataset, "timespan" | "multiplier">): Timeframe {
  const bar = datasetBarMs(dataset);
  return TIMEFRAMES.find((tf) => timeframeMs(tf) >= bar) ?? "1M";
}

/** Whether a timeframe can be drawn from a dataset (it is not finer than the stored bars). */
export function timeframeAvailable(tf: Timeframe, dataset: Pick<Dataset, "timespan" | "multiplier">): boolean {
  return timeframeMs(tf) >= datasetBarMs(dataset);
}

/** Whether bars of this width are a day or wider (then only dates are shown, not clock times). */
export function isDailyOrWider(ms: number): boolean {
  return ms >= DAY;
}

/**
 * The longest a bucket of this width can last, ms: buckets are aligned in New York time, so a
 * day may last 25 hours (DST), a week 7 days and an hour, a month 31 days and an hour.
 *
 * @example maxBucketMs("1M") // 2682000000 (31 d + 1 h)
 */
export function maxBucketMs(bucket: string | null | undefined): number | null {
  const ms = bucketMs(bucket);
  if (ms === null || bucket === null || bucket === undefined) return null;
  const unit = bucket.trim().slice(-1);
  const count = ms / (UNIT_MS[unit] ?? ms);
  if (unit === "d" || unit === "w") return ms + HOUR;
  if (unit === "M") return count * 31 * DAY + HOUR;
  if (unit === "q") return count * 92 * DAY + HOUR;
  if (unit === "y") return count * 366 * DAY + HOUR;
  return ms;
}
