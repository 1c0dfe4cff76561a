/**
 * Indicator series on the chart (pure): the indicator columns of a chart slice, which pane each
 * output is drawn in, and its colour.
 *
 * For each spec asked for (`state/indicators.ts`) the server answers one float64 column per
 * output, named `ind:<canonical spec>:<output>` (null where undefined), with Arrow field metadata
 * `k2q.indicator`, `k2q.output`, `k2q.overlay` ("true": drawn on the price scale) and
 * `k2q.display_name`.
 */
import type { LineData, UTCTimestamp, WhitespaceData } from "lightweight-charts";

import { ApiError } from "../api/problem";
import type { Bar } from "./series";
import { formatCompact, formatPrice } from "./time";

export const INDICATOR_PREFIX = "ind:";

/** One indicator output column of a chart slice. */
export interface IndicatorColumn {
  /** The column name, `ind:<spec>:<output>`. */
  key: string;
  /** The canonical spec, e.g. `bbands(20,2,2)`. */
  spec: string;
  /** TA-Lib's output name, e.g. `upperband`, `real`. */
  output: string;
  /** Drawn on the price scale with the candles (else in a pane of its own). */
  overlay: boolean;
  /** TA-Lib's name for the function, e.g. `Bollinger Bands`. */
  displayName: string;
}

interface FieldLike {
  name: string;
  metadata: ReadonlyMap<string, string>;
}

/** The indicator columns of a slice's Arrow schema, in column order. */
export function indicatorColumns(schema: { fields: readonly FieldLike[] }): IndicatorColumn[] {
  const columns: IndicatorColumn[] = [];
  for (const field of schema.fields) {
    if (!field.name.startsWith(INDICATOR_PREFIX)) continue;
    const rest = field.name.slice(INDICATOR_PREFIX.length);
    const cut = rest.lastIndexOf(":");
    const spec = field.metadata.get("k2q.indicator") ?? (cut > 0 ? rest.slice(0, cut) : rest);
    const output = field.metadata.get("k2q.output") ?? (cut > 0 ? rest.slice(cut + 1) : "real");
    columns.push({
      key: field.name,
      spec,
      output,
      overlay: field.metadata.get("k2q.overlay") === "true",
      displayName: field.metadata.get("k2q.display_name") ?? spec,
    });
  }
  return columns;
}

/**
 * Distinct line colours on the dark theme, assigned in column order; none near the candles' up and
 * down colours or the amber of gap bands.
 */
export const INDICATOR_COLORS = ["#4f9cf9", "#c084fc", "#f97316", "#22d3ee", "#e879f9", "#a3e635", "#fb7185", "#e5e7eb", "#fde047", "#818cf8"] as const;

/** An output as drawn: its colour, label and pane. */
export interface IndicatorLine {
  column: IndicatorColumn;
  color: string;
  /** Its full name: the spec, plus the output when the indicator has several (`bbands(20,2,2) upperband`). */
  label: string;
  /** Its name where room is short (grid headers): the spec, or the output when there are several. */
  shortLabel: string;
  /** `null`: the price pane; else the index of the indicator's own pane among the indicator panes. */
  paneGroup: number | null;
}

/**
 * Lays out indicator columns: overlay outputs on the price pane, the outputs of each other
 * indicator together in a pane of their own (in order of first appearance); distinct colours.
 *
 * @example
 * layoutIndicators([sma, rsi, macd, macdsignal]).map((l) => l.paneGroup) // [null, 0, 1, 1]
 */
export function layoutIndicators(columns: readonly IndicatorColumn[]): IndicatorLine[] {
  const outputs = new Map<string, number>();
  for (const c of columns) outputs.set(c.spec, (outputs.get(c.spec) ?? 0) + 1);
  const groups = new Map<string, number>();
  return columns.map((column, index) => {
    let paneGroup: number | null = null;
    if (!column.overlay) {
      paneGroup = groups.get(column.spec) ?? groups.size;
      groups.set(column.spec, paneGroup);
    }
    const several = (outputs.get(column.spec) ?? 1) > 1;
    const label = several ? `${column.spec} ${column.output}` : column.spec;
    const shortLabel = several ? column.output : column.spec;
    return { column, color: INDICATOR_COLORS[index % INDICATOR_COLORS.length] ?? INDICATOR_COLORS[0], label, shortLabel, paneGroup };
  });
}

/** Lines grouped by indicator (spec), in order of first appearance: how the crosshair strip lists them. */
export function linesBySpec(lines: readonly IndicatorLine[]): { spec: string; lines: IndicatorLine[] }[] {
  const groups: { spec: string; lines: IndicatorLine[] }[] = [];
  for (const line of lines) {
    const group = groups.find((g) => g.spec === line.column.spec);
    if (group !== undefined) group.lines.push(line);
    else groups.push({ spec: line.column.spec, lines: [line] });
  }
  return groups;
}

/** How many panes of their own the lines need. */
export function paneGroupCount(lines: readonly IndicatorLine[]): number {
  return lines.reduce((n, line) => (line.paneGroup !== null ? Math.max(n, line.paneGroup + 1) : n), 0);
}

/** A key that changes only when the layout does (not with each new slice). */
export function layoutKey(columns: readonly IndicatorColumn[]): string {
  return columns.map((c) => `${c.key}${c.overlay ? "+" : "-"}`).join("\n");
}

/** One output's line over `bars` (whitespace where it has no value, so times stay aligned). */
export function lineData(bars: readonly Bar[], key: string): (LineData<UTCTimestamp> | WhitespaceData<UTCTimestamp>)[] {
  const out = new Array<LineData<UTCTimestamp> | WhitespaceData<UTCTimestamp>>(bars.length);
  bars.forEach((bar, i) => {
    const time = Math.floor(bar.ts / 1000) as UTCTimestamp;
    const value = bar.extra?.[key];
    out[i] = value !== undefined && value !== null ? { time, value } : { time };
  });
  return out;
}

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
export function lastValue(bars: readonly Bar[], key: string): number | null {
  for (let i = bars.length - 1; i >= 0; i -= 1) {
    const value = bars[i]?.extra?.[key];
    if (value !== undefined && value !== null) return value;
  }
  return null;
}

/** An indicator value for the strip and the grid (`—` where undefined). */
export function formatIndicatorValue(value: number | null | undefined): string {
  if (value === null || value === undefined) return "—";
  return Math.abs(value) >= 1_000_000 ? formatCompact(value) : formatPrice(value);
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
