/**
 * A sweep's grid as typed (pure): per declared parameter, either a range `start:stop:step` (stop
 * included when a step lands on it) or a list `5, 10, 20`; empty leaves the parameter at its value.
 * The server takes at most 6 parameters, 1,000 values each and 10,000 combinations.
 */
import type { ParamSpec } from "../../api/types";

export const MAX_AXES = 6;
export const MAX_VALUES = 1000;
export const MAX_COMBINATIONS = 10_000;

export type GridValues = { values: number[] } | { error: string };

/** Rounds away float noise (0.1 + 0.2) while keeping every digit a person types. */
function clean(value: number): number {
  return Number(value.toPrecision(12));
}

function number(text: string): number | null {
  const t = text.trim();
  if (!/^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/.test(t)) return null;
  const n = Number(t);
  return Number.isFinite(n) ? n : null;
}

function rangeValues(start: number, stop: number, step: number): number[] | string {
  if (step <= 0) return "the step must be above 0";
  if (stop < start) return "the stop must not be below the start";
  const count = Math.floor((stop - start) / step + 1e-9) + 1;
  if (count > MAX_VALUES) return `at most ${MAX_VALUES} values (this range has ${count})`;
  return Array.from({ length: count }, (_, i) => clean(start + i * step));
}

/**
 * The values `text` asks for, checked against the parameter's declaration.
 *
 * @example parseGridValues("10:30:10", fast) // { values: [10, 20, 30] }
 * @example parseGridValues("5, 8 13", fast) // { values: [5, 8, 13] }
 */
export function parseGridValues(text: string, spec: ParamSpec): GridValues {
  const t = text.trim();
  let values: number[];
  if (t.includes(":")) {
    const parts = t.split(":");
    if (parts.length < 2 || parts.length > 3) return { error: "a range is start:stop:step" };
    const [start, stop, step] = parts.map(number);
    if (start === null || stop === null || start === undefined || stop === undefined) return { error: "a range is start:stop:step, in numbers" };
    if (step === null) return { error: "the step is not a number" };
    const made = rangeValues(start, stop, step ?? 1);
    if (typeof made === "string") return { error: made };
    values = made;
  } else {
    const items = t.split(/[\s,;]+/).filter((s) => s !== "");
    if (items.length === 0) return { error: "no values" };
    const parsed = items.map(number);
    const bad = items.find((_, i) => parsed[i] === null);
    if (bad !== undefined) return { error: `'${bad}' is not a number` };
    values = [...new Set(parsed.filter((n): n is number => n !== null))].sort((a, b) => a - b);
    if (values.length > MAX_VALUES) return { error: `at most ${MAX_VALUES} values` };
  }
  if (spec.integer && values.some((v) => !Number.isInteger(v))) return { error: `${spec.name} takes whole numbers` };
  const min = spec.minimum ?? null;
  const max = spec.maximum ?? null;
  const out = values.find((v) => (min !== null && v < min) || (max !== null && v > max));
  if (out !== undefined) return { error: `${out} is outside ${min ?? "−∞"}…${max ?? "∞"}` };
  return { values };
}

export interface ParsedGrid {
  grid: Record<string, number[]>;
  /** Backtests the grid asks for. */
  combinations: number;
  /** Why a parameter's text is refused, by parameter. */
  problems: Record<string, string>;
  /** Why the grid as a whole is refused (nothing swept, too many combinations), or `null`. */
  problem: string | null;
}

/** The grid of every parameter with text, and what is wrong with it. */
export function parseGrid(specs: readonly ParamSpec[], texts: Readonly<Record<string, string>>): ParsedGrid {
  const grid: Record<string, number[]> = {};
  const problems: Record<string, string> = {};
  for (const spec of specs) {
    const text = texts[spec.name]?.trim() ?? "";
    if (text === "") continue;
    const parsed = parseGridValues(text, spec);
    if ("error" in parsed) problems[spec.name] = parsed.error;
    else grid[spec.name] = parsed.values;
  }
  const axes = Object.values(grid);
  const combinations = axes.reduce((n, values) => n * values.length, axes.length > 0 ? 1 : 0);
  let problem: string | null = null;
  if (axes.length === 0 && Object.keys(problems).length === 0) problem = "Give values to at least one parameter.";
  else if (axes.length > MAX_AXES) problem = `At most ${MAX_AXES} parameters.`;
  else if (combinations > MAX_COMBINATIONS) problem = `${combinations.toLocaleString("en-US")} combinations: at most ${MAX_COMBINATIONS.toLocaleString("en-US")}.`;
  return { grid, combinations, problems, problem };
}

/** A grid's text for a parameter, as a starting point: around its default within its bounds. */
export function suggestedRange(spec: ParamSpec): string {
  const d = spec.default;
  const lo = Math.max(spec.minimum ?? -Infinity, spec.integer ? Math.round(d / 2) : d / 2);
  const hi = Math.min(spec.maximum ?? Infinity, spec.integer ? Math.round(d * 2) : d * 2);
  if (!(hi > lo)) return String(d);
  const step = spec.integer ? Math.max(1, Math.round((hi - lo) / 5)) : clean((hi - lo) / 5);
  return `${clean(lo)}:${clean(hi)}:${step}`;
}
