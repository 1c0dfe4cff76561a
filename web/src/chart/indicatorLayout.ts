/**
 * Where and how each indicator output is drawn (pure): overlays on the price pane, pattern markers
 * on the candles, and the outputs of each other indicator together in a pane of its own, below the
 * volume pane, in order of first appearance.
 */
import type { IndicatorPlot } from "../api/types";
import { INDICATOR_COLORS } from "./indicatorColors";
import { formatIndicatorValue, formatPatternValue, type IndicatorColumn } from "./indicators";

/** An output as drawn: its colour, label and pane. */
export interface IndicatorLine {
  column: IndicatorColumn;
  color: string;
  /** Its full name: the spec, plus the output when the indicator has several (`bbands(20,2,2) upperband`). */
  label: string;
  /** Its name where room is short (grid headers): the spec, or the output when there are several. */
  shortLabel: string;
  /** `null`: the price pane (overlays, and markers on the candles); else the index of its own pane among the indicator panes. */
  paneGroup: number | null;
  /** How it is drawn: a line (solid, dashed, dotted), a histogram, or markers on the candles. */
  kind: IndicatorPlot;
}

/**
 * Lays out indicator columns with their colours (`colors`: by spec, one per output in order; the
 * palette in column order where missing).
 *
 * @example
 * layoutIndicators([sma, rsi, macd, macdsignal]).map((l) => l.paneGroup) // [null, 0, 1, 1]
 */
export function layoutIndicators(columns: readonly IndicatorColumn[], colors: ReadonlyMap<string, readonly string[]> = new Map()): IndicatorLine[] {
  const outputs = new Map<string, number>();
  for (const c of columns) outputs.set(c.spec, (outputs.get(c.spec) ?? 0) + 1);
  const groups = new Map<string, number>();
  const seen = new Map<string, number>();
  return columns.map((column, index) => {
    let paneGroup: number | null = null;
    if (column.pane === "own") {
      paneGroup = groups.get(column.spec) ?? groups.size;
      groups.set(column.spec, paneGroup);
    }
    const nth = seen.get(column.spec) ?? 0;
    seen.set(column.spec, nth + 1);
    const several = (outputs.get(column.spec) ?? 1) > 1;
    const label = several ? `${column.spec} ${column.output}` : column.spec;
    const shortLabel = several ? column.output : column.spec;
    const color = colors.get(column.spec)?.[nth] ?? INDICATOR_COLORS[index % INDICATOR_COLORS.length] ?? INDICATOR_COLORS[0];
    const kind: IndicatorPlot = column.pane === "markers" ? "markers" : column.plot === "markers" ? "line" : column.plot;
    return { column, color, label, shortLabel, paneGroup, kind };
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

/**
 * A key that changes only when what is drawn does (columns, panes, kinds, colours, levels), not with
 * each new slice of the same indicators.
 */
export function layoutKey(lines: readonly IndicatorLine[]): string {
  return lines.map((l) => [l.column.key, l.paneGroup ?? "p", l.kind, l.color, l.column.levels.join(","), l.column.stableFrom].join(" ")).join("\n");
}

/** A line's value in words for the strip and the grid (a pattern's as bullish or bearish). */
export function formatLineValue(line: Pick<IndicatorLine, "kind">, value: number | null | undefined): string {
  return line.kind === "markers" ? formatPatternValue(value) : formatIndicatorValue(value);
}
