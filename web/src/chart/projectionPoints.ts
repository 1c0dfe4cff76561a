/**
 * A projection's points to draw (pure), from the bars' `proj:<id>:*` values (a projection whose
 * horizon has passed, in part or in whole, has its values on real bars) and the future buckets
 * after the last bar (`projectionRows.ts`).
 *
 * Only buckets after the last bar, or at a bar's own time, are taken from the future rows: a
 * future time between two bars (a bucket the chart has since filled differently) would put a time
 * on the chart's scale that no candle has, and shift every logical index after it.
 */
import type { FuturePoint } from "./projectionRows";
import { projectionColumn } from "./projectionRows";
import type { Bar } from "./series";

export interface ProjectionPoint {
  /** Epoch ms. */
  ts: number;
  median: number | null;
  lower: number | null;
  upper: number | null;
}

export interface ProjectionPoints {
  points: ProjectionPoint[];
  /** How many of them lie after the last bar. */
  future: number;
}

function read(extra: Readonly<Record<string, number | null>> | undefined, keys: readonly [string, string, string]): ProjectionPoint | null {
  if (extra === undefined) return null;
  const [m, l, u] = keys.map((key) => {
    const v = extra[key];
    return typeof v === "number" && Number.isFinite(v) ? v : null;
  }) as [number | null, number | null, number | null];
  return m === null && l === null && u === null ? null : { ts: 0, median: m, lower: l, upper: u };
}

/** Projection `id`'s values at `bars` and after them, ascending by time, where it has any. */
export function projectionPoints(bars: readonly Bar[], future: readonly FuturePoint[], id: string): ProjectionPoints {
  const keys = [projectionColumn(id, "median"), projectionColumn(id, "lower"), projectionColumn(id, "upper")] as const;
  const byTime = new Map<number, ProjectionPoint>();
  for (const bar of bars) {
    const point = read(bar.extra, keys);
    if (point !== null) byTime.set(bar.ts, { ...point, ts: bar.ts });
  }
  const lastTs = bars[bars.length - 1]?.ts ?? -Infinity;
  let barTimes: Set<number> | null = null;
  let after = 0;
  for (const row of future) {
    const point = read(row.extra, keys);
    if (point === null) continue;
    if (row.ts > lastTs) {
      byTime.set(row.ts, { ...point, ts: row.ts });
      after += 1;
      continue;
    }
    // A bucket that has since become a bar (a live one) keeps the forecast until the bar carries it.
    barTimes ??= new Set(bars.map((b) => b.ts));
    if (barTimes.has(row.ts) && !byTime.has(row.ts)) byTime.set(row.ts, { ...point, ts: row.ts });
  }
  const points = [...byTime.values()].sort((a, b) => a.ts - b.ts);
  return { points, future: after };
}

/** Whether two lists of points are the same (to leave the series alone when nothing changed). */
export function samePoints(a: readonly ProjectionPoint[], b: readonly ProjectionPoint[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i += 1) {
    const p = a[i];
    const q = b[i];
    if (p === undefined || q === undefined || p.ts !== q.ts || p.median !== q.median || p.lower !== q.lower || p.upper !== q.upper) return false;
  }
  return true;
}
