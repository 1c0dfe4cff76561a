/**
 * Projections in chart slices (pure). Chart-data asked for `projections` answers three float
 * columns per projection, `proj:<id>:median`, `proj:<id>:lower` and `proj:<id>:upper` (null where it
 * has no value), and rows after the last real bar: the future buckets the projections reach, whose
 * prices and volume are null.
 *
 * Real rows become bars, carrying the projection columns in `extra` (`series.ts`); the trailing rows
 * without prices never become candles: they are read here as future points, which only the
 * projection series draw (lightweight-charts reaches a time only through some series' data, and
 * whitespace on the candlestick series would break live updates of its last candle).
 */
import type { Table } from "apache-arrow";

export const PROJECTION_PREFIX = "proj:";

export type ProjectionOutput = "median" | "lower" | "upper";

/** A projection's column: `proj:<id>:median` … */
export function projectionColumn(id: string, output: ProjectionOutput): string {
  return `${PROJECTION_PREFIX}${id}:${output}`;
}

/** Whether an Arrow column holds a projection's values (it goes into each bar's `extra`). */
export function isProjectionColumn(name: string): boolean {
  return name.startsWith(PROJECTION_PREFIX);
}

/** A bucket after the last bar: its start (epoch ms) and the projection values there by column. */
export interface FuturePoint {
  ts: number;
  extra: Readonly<Record<string, number | null>>;
}

function num(value: unknown): number | null {
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value === "bigint") return Number(value);
  if (value instanceof Date) return value.getTime();
  return null;
}

/**
 * The rows after the last row with a close (ascending, one per time, the last of a repeated one),
 * with their projection values; none when the slice has no projection column or no real row.
 */
export function futureRows(table: Pick<Table, "getChild" | "numRows" | "schema">): FuturePoint[] {
  const keys = table.schema.fields.map((f) => f.name).filter(isProjectionColumn);
  const ts = table.getChild("ts");
  const close = table.getChild("close");
  if (keys.length === 0 || ts === null || close === null) return [];
  let last = table.numRows - 1;
  while (last >= 0 && num(close.get(last)) === null) last -= 1;
  if (last < 0) return [];
  const columns = keys.flatMap((key) => {
    const child = table.getChild(key);
    return child !== null ? [[key, child] as const] : [];
  });
  const byTime = new Map<number, FuturePoint>();
  for (let i = last + 1; i < table.numRows; i += 1) {
    const t = num(ts.get(i));
    if (t === null) continue;
    const extra: Record<string, number | null> = {};
    for (const [key, column] of columns) extra[key] = num(column.get(i));
    byTime.set(t, { ts: t, extra });
  }
  return [...byTime.values()].sort((a, b) => a.ts - b.ts);
}
