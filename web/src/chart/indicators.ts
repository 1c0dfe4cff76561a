/**
 * Indicator columns of a chart slice (pure): what the server says about each, and reading values.
 *
 * For each spec asked for (`state/indicators.ts`) the server answers one float64 column per
 * output, named `ind:<canonical spec>:<output>` (null where undefined), with Arrow field metadata
 * (all strings): `k2q.indicator` (the canonical spec), `k2q.output`, `k2q.function`,
 * `k2q.display_name`, `k2q.overlay`, `k2q.pane` (`price`|`own`|`markers`), `k2q.plot`
 * (`line`|`dashed`|`dotted`|`histogram`|`markers`), `k2q.levels` (a JSON array of numbers),
 * `k2q.stable_from` (epoch ms, or empty when the series is too short to settle), `k2q.min_bars`
 * and `k2q.series_rows`. A server that sends fewer of them is read with the defaults below.
 */
import type { IndicatorPane, IndicatorPlot } from "../api/types";
import { ApiError } from "../api/problem";
import type { Bar } from "./series";
import { formatCompact, formatPrice } from "./time";

export const INDICATOR_PREFIX = "ind:";

/** One indicator output column of a chart slice. */
export interface IndicatorColumn {
  /** The column name, `ind:<spec>:<output>`. */
  key: string;
  /** The canonical spec, e.g. `bbands(20,2,2)`, as the server answered it. */
  spec: string;
  /** The output's name, e.g. `upperband`, `real`. */
  output: string;
  /** Its values are prices (drawn on the price scale). */
  overlay: boolean;
  /** The function's long name, e.g. `Bollinger Bands`. */
  displayName: string;
  /** The catalog name, e.g. `BBANDS`. */
  function: string;
  pane: IndicatorPane;
  plot: IndicatorPlot;
  /** Reference levels of its pane (RSI 30/70). */
  levels: readonly number[];
  /** First stable bucket, epoch ms: `-Infinity` when not said (all stable), `Infinity` when none is. */
  stableFrom: number;
  /** Bars needed for the first value; `null` when not said. */
  minBars: number | null;
  /** Buckets in the whole stored series at this width; `null` when not said. */
  seriesRows: number | null;
}

interface FieldLike {
  name: string;
  metadata: ReadonlyMap<string, string>;
}

const PANES: readonly string[] = ["price", "own", "markers"] satisfies IndicatorPane[];
const PLOTS: readonly string[] = ["line", "dashed", "dotted", "histogram", "markers"] satisfies IndicatorPlot[];

function count(text: string | undefined): number | null {
  return text !== undefined && /^\d+$/.test(text.trim()) ? Number(text) : null;
}

function levelsOf(text: string | undefined): number[] {
  if (text === undefined || text.trim() === "") return [];
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value.filter((v): v is number => typeof v === "number" && Number.isFinite(v)) : [];
  } catch {
    return [];
  }
}

function stableFromOf(text: string | undefined): number {
  if (text === undefined) return -Infinity;
  const trimmed = text.trim();
  if (trimmed === "") return Infinity;
  const ms = Number(trimmed);
  return Number.isFinite(ms) ? ms : -Infinity;
}

/** The indicator columns of a slice's Arrow schema, in column order. */
export function indicatorColumns(schema: { fields: readonly FieldLike[] }): IndicatorColumn[] {
  const columns: IndicatorColumn[] = [];
  for (const field of schema.fields) {
    if (!field.name.startsWith(INDICATOR_PREFIX)) continue;
    const meta = field.metadata;
    const rest = field.name.slice(INDICATOR_PREFIX.length);
    const cut = rest.lastIndexOf(":");
    const spec = meta.get("k2q.indicator") ?? (cut > 0 ? rest.slice(0, cut) : rest);
    const name = spec.split("(")[0] ?? spec;
    const fn = meta.get("k2q.function") ?? name.toUpperCase();
    const overlay = meta.get("k2q.overlay") === "true";
    const paneText = meta.get("k2q.pane") ?? "";
    // Without `k2q.pane`: TA-Lib's candlestick patterns (CDL*) are markers, the rest by `k2q.overlay`.
    const pane = (PANES.includes(paneText) ? paneText : fn.startsWith("CDL") ? "markers" : overlay ? "price" : "own") as IndicatorPane;
    const plotText = meta.get("k2q.plot") ?? "";
    const plot = (PLOTS.includes(plotText) ? plotText : pane === "markers" ? "markers" : "line") as IndicatorPlot;
    columns.push({
      key: field.name,
      spec,
      output: meta.get("k2q.output") ?? (cut > 0 ? rest.slice(cut + 1) : "real"),
      overlay,
      displayName: meta.get("k2q.display_name") ?? spec,
      function: fn,
      pane,
      plot,
      levels: levelsOf(meta.get("k2q.levels")),
      stableFrom: stableFromOf(meta.get("k2q.stable_from")),
      minBars: count(meta.get("k2q.min_bars")),
      seriesRows: count(meta.get("k2q.series_rows")),
    });
  }
  return columns;
}

/** An output's value at a bar (`null` where undefined): the live value when one came, else the loaded one. */
export type ValueOf = (bar: Bar, key: string) => number | null;

/** The value the bar was loaded with. */
export const loadedValue: ValueOf = (bar, key) => bar.extra?.[key] ?? null;

/**
 * Where `next` differs from `prev` when only its end does (a live bar replaced or appended, the
 * earlier bars the same objects): the first index to redraw; `null` when the lines need redrawing
 * whole (a new slice, an extension).
 */
export function changedTail(prev: readonly Bar[], next: readonly Bar[]): number | null {
  const n = prev.length;
  if (n < 2 || (next.length !== n && next.length !== n + 1)) return null;
  if (next[0] !== prev[0] || next[n - 2] !== prev[n - 2]) return null;
  // Points can be replaced at the last time or added after it, never moved before it.
  if ((next[n - 1]?.ts ?? -Infinity) < (prev[n - 1]?.ts ?? Infinity)) return null;
  return n - 1;
}

/** The last defined value of an output (for its price format), or `null`. */
export function lastValue(bars: readonly Bar[], key: string, valueOf: ValueOf = loadedValue): number | null {
  for (let i = bars.length - 1; i >= 0; i -= 1) {
    const bar = bars[i];
    const value = bar !== undefined ? valueOf(bar, key) : null;
    if (value !== null) return value;
  }
  return null;
}

/** An indicator value for the strip and the grid (`—` where undefined). */
export function formatIndicatorValue(value: number | null | undefined): string {
  if (value === null || value === undefined) return "—";
  return Math.abs(value) >= 1_000_000 ? formatCompact(value) : formatPrice(value);
}

/** A candlestick pattern's value in words: `bullish`, `bearish` (with its strength past ±100), `—` for none. */
export function formatPatternValue(value: number | null | undefined): string {
  if (value === null || value === undefined || value === 0) return "—";
  const word = value > 0 ? "bullish" : "bearish";
  return Math.abs(value) > 100 ? `${word} ${Math.abs(value)}` : word;
}

/** An indicator spec the server refused, with its reason. */
export interface RejectedIndicator {
  spec: string;
  reason: string;
}

/**
 * Which of `specs` the server refuses: each is asked for alone (`ask`, e.g. a chart slice over a
 * tiny window), after a 422 for all of them together, whose reason need not name the spec. A spec
 * whose request fails otherwise (network, 5xx) is not blamed.
 */
export async function rejectedIndicators(specs: readonly string[], ask: (spec: string) => Promise<unknown>): Promise<RejectedIndicator[]> {
  const answers = await Promise.all(
    specs.map(async (spec): Promise<RejectedIndicator | null> => {
      try {
        await ask(spec);
        return null;
      } catch (error) {
        if (!(error instanceof ApiError) || error.status !== 422) return null;
        return { spec, reason: error.detail !== null && error.detail !== "" ? error.detail : error.title };
      }
    }),
  );
  return answers.filter((answer): answer is RejectedIndicator => answer !== null);
}
