/** Pure helpers over datasets: search, ordering, labels and time bounds. */
import type { Dataset } from "../../api/types";
import { isoToMs } from "../../chart/time";
import type { TimeWindow } from "../../chart/window";
import { datasetBarMs, DAY_MS } from "../../state/timeframe";

/** Datasets whose table, symbol, source or timespan contain every word of the query. */
export function filterDatasets(datasets: readonly Dataset[], query: string): Dataset[] {
  const words = query.toLowerCase().split(/\s+/).filter((w) => w !== "");
  if (words.length === 0) return [...datasets];
  return datasets.filter((d) => {
    const haystack = `${d.table} ${d.symbol} ${d.source} ${d.multiplier}${d.timespan} ${timespanLabel(d)}`.toLowerCase();
    return words.every((w) => haystack.includes(w));
  });
}

/** Datasets ordered by symbol, then by bar width, then by table name. */
export function sortDatasets(datasets: readonly Dataset[]): Dataset[] {
  return [...datasets].sort(
    (a, b) => a.symbol.localeCompare(b.symbol) || datasetBarMs(a) - datasetBarMs(b) || a.table.localeCompare(b.table),
  );
}

/** `1 × day`, `5 × minute`. */
export function timespanLabel(d: Pick<Dataset, "timespan" | "multiplier">): string {
  return `${d.multiplier} × ${d.timespan}`;
}

/**
 * Everything the dataset holds, as a time window: from its first bar to the end of its last
 * bar (falling back to `date_range` when the bar times are unknown); `null` when empty.
 */
export function datasetBounds(d: Dataset): TimeWindow | null {
  const first = isoToMs(d.first_bar) ?? isoToMs(d.date_range.from);
  const lastBar = isoToMs(d.last_bar);
  const last = lastBar !== null ? lastBar + datasetBarMs(d) : (() => {
    const to = isoToMs(d.date_range.to);
    return to === null ? null : to + DAY_MS;
  })();
  if (first === null || last === null || last <= first) return null;
  return { fromMs: first, toMs: last };
}
