/**
 * Indicators that cannot have a value (pure): when the whole stored series at this width has fewer
 * buckets than an indicator needs for its first value, its pane would stay empty; the chart says
 * so instead ("RSI(14) needs 15 bars; this series has 10").
 */
import type { IndicatorColumn, ValueOf } from "./indicators";
import type { Bar } from "./series";

/** An indicator's name as a trader writes it: the catalog name with the spec's arguments, `RSI(14)`. */
export function indicatorName(column: Pick<IndicatorColumn, "spec" | "function">): string {
  const open = column.spec.indexOf("(");
  return open < 0 ? column.function : `${column.function}${column.spec.slice(open)}`;
}

/** What the chart says of an indicator the series is too short for, or `null` when it is not. */
export function shortfallText(column: IndicatorColumn): string | null {
  const { minBars, seriesRows } = column;
  if (minBars === null || seriesRows === null || seriesRows >= minBars) return null;
  return `${indicatorName(column)} needs ${minBars} bar${minBars === 1 ? "" : "s"}; this series has ${seriesRows}`;
}

/** An indicator whose columns have no value to draw, and why. */
export interface Shortfall {
  spec: string;
  text: string;
}

/** The indicators (by spec) without any value in `bars` because the stored series is too short for them. */
export function shortfalls(columns: readonly IndicatorColumn[], bars: readonly Bar[], valueOf: ValueOf): Shortfall[] {
  const out: Shortfall[] = [];
  for (const column of columns) {
    if (out.some((s) => s.spec === column.spec)) continue;
    const text = shortfallText(column);
    if (text === null) continue;
    const outputs = columns.filter((c) => c.spec === column.spec);
    if (bars.some((bar) => outputs.some((c) => valueOf(bar, c.key) !== null))) continue;
    out.push({ spec: column.spec, text });
  }
  return out;
}

/** The shortfalls' words by the spec of the indicator on the chart (`canonical`: its canonical spec, by spec). */
export function shortfallNotes(canonical: ReadonlyMap<string, string>, found: readonly Shortfall[]): Map<string, string> {
  const notes = new Map<string, string>();
  for (const [spec, answered] of canonical) {
    const shortfall = found.find((s) => s.spec === answered);
    if (shortfall !== undefined) notes.set(spec, shortfall.text);
  }
  return notes;
}
