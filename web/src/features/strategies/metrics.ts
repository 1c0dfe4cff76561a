/** Run metrics in words (pure): their labels, how each is written, and which way is better. */
import type { MetricName, Metrics } from "../../api/types";

/** Every metric a run reports (`METRIC_NAMES` in `schemas/strategies.py`), in the order the results list them. */
export const METRIC_NAMES = [
  "total_return_pct",
  "cagr_pct",
  "volatility_pct",
  "sharpe",
  "sortino",
  "max_drawdown_pct",
  "max_drawdown_duration_bars",
  "win_rate_pct",
  "profit_factor",
  "expectancy_pct",
  "exposure_pct",
  "num_trades",
  "final_equity",
  "buy_hold_return_pct",
] as const satisfies readonly MetricName[];

export const METRIC_LABELS: Readonly<Record<MetricName, string>> = {
  total_return_pct: "Return",
  cagr_pct: "CAGR",
  volatility_pct: "Volatility",
  sharpe: "Sharpe",
  sortino: "Sortino",
  max_drawdown_pct: "Max drawdown",
  max_drawdown_duration_bars: "Longest drawdown",
  win_rate_pct: "Win rate",
  profit_factor: "Profit factor",
  expectancy_pct: "Expectancy",
  exposure_pct: "Exposure",
  num_trades: "Trades",
  final_equity: "Final equity",
  buy_hold_return_pct: "Buy & hold",
};

/** Metrics where less is better; for drawdowns, closer to zero is better whatever their sign. */
const LOWER_IS_BETTER: ReadonlySet<string> = new Set(["volatility_pct", "max_drawdown_duration_bars"]);
const NEARER_ZERO_IS_BETTER: ReadonlySet<string> = new Set(["max_drawdown_pct"]);
/** Metrics that say what a run did, not how well: no run wins at them side by side. */
const NEUTRAL: ReadonlySet<string> = new Set(["num_trades", "exposure_pct", "buy_hold_return_pct"]);

export function isMetricName(value: string): value is MetricName {
  return (METRIC_NAMES as readonly string[]).includes(value);
}

export function metricLabel(name: string): string {
  return isMetricName(name) ? METRIC_LABELS[name] : name;
}

/** A metric's value where bigger is always better (for ranking and colouring). */
export function score(metric: string, value: number): number {
  if (LOWER_IS_BETTER.has(metric)) return -value;
  if (NEARER_ZERO_IS_BETTER.has(metric)) return -Math.abs(value);
  return value;
}

/** Whether `a` is better than `b` by `metric` (a missing value is never better). */
export function isBetter(metric: string, a: number | null | undefined, b: number | null | undefined): boolean {
  if (a === null || a === undefined || !Number.isFinite(a)) return false;
  if (b === null || b === undefined || !Number.isFinite(b)) return true;
  return score(metric, a) > score(metric, b);
}

function grouped(value: number, digits: number): string {
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/**
 * A metric's value as the results show it: percentages with `%`, counts whole, ratios to two places.
 *
 * @example formatMetric("total_return_pct", 12.345) // "12.35%"
 */
export function formatMetric(name: string, value: number | null | undefined): string {
  if (value === null || value === undefined) return "—";
  if (!Number.isFinite(value)) return value > 0 ? "∞" : value < 0 ? "−∞" : "—";
  if (name.endsWith("_pct")) return `${grouped(value, 2)}%`;
  if (name === "num_trades" || name.endsWith("_bars")) return grouped(value, 0);
  if (name === "final_equity") return grouped(value, 2);
  return grouped(value, 2);
}

/** The metrics a run reports, known ones in their order and then any other. */
export function metricRows(metrics: Metrics | null | undefined): string[] {
  if (metrics === null || metrics === undefined) return [];
  const known = METRIC_NAMES.filter((name) => name in metrics);
  const other = Object.keys(metrics).filter((name) => !isMetricName(name)).sort();
  return [...known, ...other];
}

/** For two runs side by side: which one is better at each metric (`a`, `b`, or `null` for a tie or no winner). */
export function better(metric: string, a: number | null | undefined, b: number | null | undefined): "a" | "b" | null {
  if (NEUTRAL.has(metric)) return null;
  if (isBetter(metric, a, b)) return "a";
  if (isBetter(metric, b, a)) return "b";
  return null;
}
