/**
 * A sweep as a heatmap (pure): the chosen metric over one or two of its parameters. With two, a grid
 * of cells (x across, y down); with one, a single row; the other parameters of a sweep over more are
 * taken at their best for each cell (the cell shows the best row among those with its x and y).
 */
import type { SweepResult } from "../../api/types";
import { isBetter, score } from "./metrics";

export interface HeatCell {
  x: number;
  /** `null` in a one-parameter heatmap. */
  y: number | null;
  value: number | null;
  /** Every parameter of the row the cell shows (the best of those with its x and y). */
  params: Record<string, number> | null;
}

export interface Heatmap {
  metric: string;
  xParam: string;
  yParam: string | null;
  xs: number[];
  /** `[]` in a one-parameter heatmap. */
  ys: number[];
  /** Rows (one per y, or just one) of cells (one per x). */
  cells: HeatCell[][];
  /** The lowest and highest scores (`score`) of the values shown, for colouring. */
  low: number | null;
  high: number | null;
  /** Parameters of the sweep taken at their best in each cell. */
  atBest: string[];
}

function axisValues(sweep: SweepResult, param: string): number[] {
  const listed = sweep.axes[param];
  const values = listed !== undefined && listed.length > 0 ? listed : sweep.rows.map((r) => r.params[param]).filter((v): v is number => v !== undefined);
  return [...new Set(values)].sort((a, b) => a - b);
}

/** The sweep's parameters: those with an axis, in the axes' order. */
export function sweepParams(sweep: SweepResult): string[] {
  const names = Object.keys(sweep.axes);
  return names.length > 0 ? names : Object.keys(sweep.rows[0]?.params ?? {});
}

/** The two parameters shown first: the two with the most values (in order of the axes among equals). */
export function defaultAxes(sweep: SweepResult): { x: string | null; y: string | null } {
  const ranked = sweepParams(sweep)
    .map((name, index) => ({ name, index, size: axisValues(sweep, name).length }))
    .sort((a, b) => b.size - a.size || a.index - b.index)
    .slice(0, 2)
    .sort((a, b) => a.index - b.index);
  return { x: ranked[0]?.name ?? null, y: ranked[1]?.name ?? null };
}

const key = (x: number, y: number | null): string => `${x}|${y ?? ""}`;

export function buildHeatmap(sweep: SweepResult, metric: string, xParam: string, yParam: string | null): Heatmap {
  const y = yParam !== null && yParam !== xParam ? yParam : null;
  const xs = axisValues(sweep, xParam);
  const ys = y !== null ? axisValues(sweep, y) : [];
  const best = new Map<string, { value: number | null; params: Record<string, number> }>();
  for (const row of sweep.rows) {
    const px = row.params[xParam];
    const py = y !== null ? row.params[y] : null;
    if (px === undefined || py === undefined) continue;
    const value = row.metrics[metric] ?? null;
    const k = key(px, py);
    const held = best.get(k);
    if (held === undefined || isBetter(metric, value, held.value)) best.set(k, { value, params: row.params });
  }
  let low: number | null = null;
  let high: number | null = null;
  const cellAt = (cx: number, cy: number | null): HeatCell => {
    const found = best.get(key(cx, cy));
    const value = found?.value ?? null;
    if (value !== null && Number.isFinite(value)) {
      const s = score(metric, value);
      low = low === null ? s : Math.min(low, s);
      high = high === null ? s : Math.max(high, s);
    }
    return { x: cx, y: cy, value, params: found?.params ?? null };
  };
  const cells = y !== null ? ys.map((cy) => xs.map((cx) => cellAt(cx, cy))) : [xs.map((cx) => cellAt(cx, null))];
  const atBest = sweepParams(sweep).filter((p) => p !== xParam && p !== y);
  return { metric, xParam, yParam: y, xs, ys, cells, low, high, atBest };
}

/** Where a value sits between the worst (0) and the best (1) shown; `null` without a value. */
export function heatPosition(map: Pick<Heatmap, "metric" | "low" | "high">, value: number | null): number | null {
  if (value === null || !Number.isFinite(value) || map.low === null || map.high === null) return null;
  if (map.high === map.low) return 1;
  return (score(map.metric, value) - map.low) / (map.high - map.low);
}

/** A cell's colour: red (worst) through amber to green (best); a dim grey without a value. */
export function heatColor(position: number | null): string {
  if (position === null) return "rgb(34, 42, 54)";
  const t = Math.max(0, Math.min(1, position));
  const stops: [number, number, number][] = [
    [185, 28, 28],
    [202, 138, 4],
    [21, 128, 61],
  ];
  const [a, b, f] = t < 0.5 ? [stops[0], stops[1], t * 2] : [stops[1], stops[2], (t - 0.5) * 2];
  const mix = (i: 0 | 1 | 2): number => Math.round((a?.[i] ?? 0) + ((b?.[i] ?? 0) - (a?.[i] ?? 0)) * f);
  return `rgb(${mix(0)}, ${mix(1)}, ${mix(2)})`;
}
