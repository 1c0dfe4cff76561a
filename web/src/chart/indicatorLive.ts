/**
 * Live indicator values (pure): `indicator_calculated` events of a live extension carry the newest
 * buckets' values of an indicator, so its series move with the live candle.
 *
 * Those values are kept apart from the loaded bars (`LiveValues`, by column and bucket) and read
 * over them: the live candle is rebuilt from the loaded bucket at every minute, which would
 * otherwise put the loaded (older) indicator values back.
 */
import type { IndicatorCalculated } from "../api/events";
import { messageObject } from "../api/socket";
import type { ValueOf } from "./indicators";

/** Values by column key, then bucket start (epoch ms). */
export type LiveValues = ReadonlyMap<string, ReadonlyMap<number, number | null>>;

/** Buckets kept per column (events carry the newest few; older ones are in the loaded bars by then). */
export const LIVE_BUCKETS_KEPT = 32;

const isValue = (v: unknown): v is number | null => v === null || (typeof v === "number" && Number.isFinite(v));

/** An `indicator_calculated` event from a socket message, or `null` for anything else. */
export function parseIndicatorCalculated(data: unknown): IndicatorCalculated | null {
  const value = messageObject(data);
  if (value === null) return null;
  const e = value as Partial<IndicatorCalculated>;
  if (e.type !== "indicator_calculated" || typeof e.symbol !== "string" || typeof e.adjusted !== "boolean") return null;
  if (typeof e.spec !== "string" || typeof e.timeframe !== "string" || !Array.isArray(e.columns) || !e.columns.every((c) => typeof c === "string")) return null;
  const points: unknown = e.points ?? [];
  if (!Array.isArray(points)) return null;
  const wellFormed = points.every(
    (p: unknown) => Array.isArray(p) && p.length === 2 && typeof p[0] === "number" && Array.isArray(p[1]) && (p[1] as unknown[]).every(isValue),
  );
  return wellFormed ? { ...(e as IndicatorCalculated), points: points as IndicatorCalculated["points"], live: e.live === true } : null;
}

/** The series a chart shows, as an event names it. */
export interface ChartedSeries {
  symbol: string;
  adjusted: boolean;
  /** The chart's bucket (`x-k2q-bucket`). */
  bucket: string;
  session: "regular" | "extended";
  /** Sessions only tell intraday buckets apart. */
  intraday: boolean;
}

/** Whether a live event moves a series drawn on this chart (`drawn`: the canonical specs drawn). */
export function liveEventApplies(event: IndicatorCalculated, chart: ChartedSeries, drawn: ReadonlySet<string>): boolean {
  return (
    event.live &&
    event.points.length > 0 &&
    event.symbol === chart.symbol &&
    event.adjusted === chart.adjusted &&
    event.timeframe === chart.bucket &&
    (!chart.intraday || event.session === chart.session) &&
    drawn.has(event.spec)
  );
}

/** `live` with an event's points merged in (the newest `LIVE_BUCKETS_KEPT` buckets of each column kept). */
export function withLivePoints(live: LiveValues, event: IndicatorCalculated): Map<string, Map<number, number | null>> {
  const next = new Map<string, Map<number, number | null>>([...live].map(([key, values]) => [key, new Map(values)]));
  event.columns.forEach((key, index) => {
    const values = next.get(key) ?? new Map<number, number | null>();
    for (const [ts, outputs] of event.points) values.set(ts, outputs[index] ?? null);
    const kept = [...values.keys()].sort((a, b) => a - b).slice(-LIVE_BUCKETS_KEPT);
    next.set(key, new Map(kept.map((ts) => [ts, values.get(ts) ?? null])));
  });
  return next;
}

/** Reads live values where a bucket has one, else the loaded value. */
export function liveValueOf(live: LiveValues): ValueOf {
  return (bar, key) => {
    const values = live.get(key);
    if (values?.has(bar.ts) === true) return values.get(bar.ts) ?? null;
    return bar.extra?.[key] ?? null;
  };
}
