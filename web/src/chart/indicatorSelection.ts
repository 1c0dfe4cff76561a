/**
 * Which columns of a slice belong to which indicator on the chart (pure), which of them are drawn,
 * and in what colours.
 *
 * The server names columns by the canonical form of each spec (`macd(fastperiod=8,slowperiod=21)`
 * comes back as whatever it calls that), one indicator after another in the order asked for; so the
 * n-th indicator asked for is the n-th distinct `k2q.indicator` of the answer.
 */
import type { ActiveIndicator } from "../state/indicators";
import { indicatorColors } from "./indicatorColors";
import type { IndicatorColumn } from "./indicators";

/** The distinct specs of `columns`, in order of first appearance. */
export function answeredSpecs(columns: readonly IndicatorColumn[]): string[] {
  return [...new Set(columns.map((c) => c.spec))];
}

/**
 * The canonical spec the server answered for each spec `requested`, by position; when the answer
 * holds fewer (two specs asked for were the same indicator), by equal text only.
 */
export function canonicalSpecs(requested: readonly string[], columns: readonly IndicatorColumn[]): Map<string, string> {
  const answered = answeredSpecs(columns);
  const out = new Map<string, string>();
  requested.forEach((spec, index) => {
    const canonical = answered.length === requested.length ? answered[index] : answered.find((a) => a === spec);
    if (canonical !== undefined) out.set(spec, canonical);
  });
  return out;
}

export interface IndicatorSelection {
  /** The columns of the shown indicators, in slice order. */
  columns: IndicatorColumn[];
  /** Output colours by canonical spec. */
  colors: Map<string, string[]>;
  /** The canonical spec of each indicator on the chart (by its spec) the slice answered for. */
  canonical: Map<string, string>;
  /** The colour of each indicator on the chart (its first output's), by its spec. */
  colorOf: Map<string, string>;
}

/** What of a slice's indicator columns (asked for as `requested`) to draw for `indicators`, and how. */
export function indicatorSelection(indicators: readonly ActiveIndicator[], requested: readonly string[], columns: readonly IndicatorColumn[]): IndicatorSelection {
  const canonical = canonicalSpecs(requested, columns);
  const outputs = new Map<string, number>();
  for (const c of columns) outputs.set(c.spec, (outputs.get(c.spec) ?? 0) + 1);
  const specOf = (i: ActiveIndicator): string | undefined => canonical.get(i.spec);
  const palette = indicatorColors(
    indicators,
    indicators.map((i) => outputs.get(specOf(i) ?? "") ?? 1),
  );
  const colors = new Map<string, string[]>();
  const colorOf = new Map<string, string>();
  const shown = new Set<string>();
  indicators.forEach((indicator, index) => {
    const first = palette[index]?.[0];
    if (first !== undefined) colorOf.set(indicator.spec, first);
    const spec = specOf(indicator);
    if (spec === undefined) return;
    colors.set(spec, palette[index] ?? []);
    if (!indicator.hidden) shown.add(spec);
  });
  return { columns: columns.filter((c) => shown.has(c.spec)), colors, canonical, colorOf };
}
