/**
 * The run form (pure): its fields as typed, what is wrong with them, and the request they make for a
 * backtest, a sweep or a walk-forward run over the chart's series. Commission and slippage are typed
 * in percent (0.1 = 0.1%) and sent as fractions, as the server takes them.
 */
import type { BacktestMode, BacktestRequest, MetricName, ParamSpec, SweepRequest, WalkForwardRequest } from "../../api/types";
import type { Timeframe, TradingSession } from "../../api/types";
import { isTimeframe } from "../../state/timeframe";

/** The series on the chart, which a run trades. */
export interface RunSeries {
  table: string;
  symbol: string;
  adjusted: boolean;
  /** The chart's timeframe; `null` for the server's choice. */
  timeframe: Timeframe | null;
  session: TradingSession;
}

export interface RunSettings {
  /** A timeframe, or `""` for the server's choice. */
  timeframe: string;
  /** `YYYY-MM-DD`, or `""` for the start (end) of the series. */
  from: string;
  to: string;
  cash: string;
  commissionPct: string;
  slippagePct: string;
  mode: BacktestMode;
  /** Parameter overrides by name, `""` for the declared default. */
  params: Record<string, string>;
}

export interface OptimiseSettings {
  metric: MetricName;
  folds: string;
  inSamplePct: string;
}

export const DEFAULT_OPTIMISE: OptimiseSettings = { metric: "sharpe", folds: "5", inSamplePct: "75" };

export function defaultSettings(series: Pick<RunSeries, "timeframe">): RunSettings {
  return { timeframe: series.timeframe ?? "", from: "", to: "", cash: "10000", commissionPct: "0", slippagePct: "0", mode: "default", params: {} };
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

function numberOf(text: string): number | null {
  const t = text.trim();
  if (t === "" || !/^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/.test(t)) return null;
  const n = Number(t);
  return Number.isFinite(n) ? n : null;
}

/** Why a parameter override cannot be sent, or `null` (an empty one keeps the default). */
export function paramProblem(spec: ParamSpec, text: string | undefined): string | null {
  if (text === undefined || text.trim() === "") return null;
  const n = numberOf(text);
  if (n === null) return "Not a number.";
  if (spec.integer && !Number.isInteger(n)) return "A whole number.";
  if (spec.minimum != null && n < spec.minimum) return `At least ${spec.minimum}.`;
  if (spec.maximum != null && n > spec.maximum) return `At most ${spec.maximum}.`;
  return null;
}

/** What is wrong with the form, by field (`param:<name>` for a parameter). */
export function settingsProblems(settings: RunSettings, specs: readonly ParamSpec[]): Record<string, string> {
  const problems: Record<string, string> = {};
  if (settings.timeframe !== "" && !isTimeframe(settings.timeframe)) problems.timeframe = "Not a timeframe.";
  for (const field of ["from", "to"] as const) {
    const text = settings[field].trim();
    if (text !== "" && (!DATE.test(text) || Number.isNaN(Date.parse(text)))) problems[field] = "A date, YYYY-MM-DD.";
  }
  if (problems.from === undefined && problems.to === undefined && settings.from !== "" && settings.to !== "" && settings.from >= settings.to) {
    problems.to = "After the start.";
  }
  const cash = numberOf(settings.cash);
  if (cash === null || cash <= 0 || cash > 1e12) problems.cash = "Above 0, at most 10¹².";
  for (const field of ["commissionPct", "slippagePct"] as const) {
    const pct = numberOf(settings[field]);
    if (pct === null || pct < 0 || pct >= 10) problems[field] = "From 0 up to 10 (%).";
  }
  for (const spec of specs) {
    const problem = paramProblem(spec, settings.params[spec.name]);
    if (problem !== null) problems[`param:${spec.name}`] = problem;
  }
  return problems;
}

/** A percentage as the fraction the server takes (0.1% → 0.001), without float noise. */
export function fraction(pct: string): number {
  return Number(((numberOf(pct) ?? 0) / 100).toPrecision(12));
}

/** The backtest the form asks for (valid settings assumed: see `settingsProblems`). */
export function backtestRequest(strategyId: number, series: RunSeries, settings: RunSettings, specs: readonly ParamSpec[]): BacktestRequest {
  const params: Record<string, number> = {};
  for (const spec of specs) {
    const n = numberOf(settings.params[spec.name] ?? "");
    if (n !== null) params[spec.name] = n;
  }
  const request: BacktestRequest = {
    strategy: strategyId,
    table: series.table,
    adjusted: series.adjusted,
    session: series.session,
    params,
    cash: numberOf(settings.cash) ?? 10_000,
    commission: fraction(settings.commissionPct),
    slippage: fraction(settings.slippagePct),
    mode: settings.mode,
  };
  if (isTimeframe(settings.timeframe)) request.timeframe = settings.timeframe;
  if (settings.from.trim() !== "") request.from = settings.from.trim();
  if (settings.to.trim() !== "") request.to = settings.to.trim();
  return request;
}

/** Why the sweep or walk-forward options cannot be sent, by field. */
export function optimiseProblems(options: OptimiseSettings, walkForward: boolean): Record<string, string> {
  if (!walkForward) return {};
  const problems: Record<string, string> = {};
  const folds = numberOf(options.folds);
  if (folds === null || !Number.isInteger(folds) || folds < 2 || folds > 20) problems.folds = "A whole number from 2 to 20.";
  const pct = numberOf(options.inSamplePct);
  if (pct === null || pct <= 20 || pct >= 95) problems.inSamplePct = "Between 20 and 95 (%).";
  return problems;
}

export function sweepRequest(base: BacktestRequest, grid: Record<string, number[]>, options: OptimiseSettings): SweepRequest {
  // A swept parameter's override would be replaced by its grid anyway.
  const params = Object.fromEntries(Object.entries(base.params ?? {}).filter(([name]) => !(name in grid)));
  return { ...base, params, grid, metric: options.metric };
}

export function walkForwardRequest(base: BacktestRequest, grid: Record<string, number[]>, options: OptimiseSettings): WalkForwardRequest {
  return { ...sweepRequest(base, grid, options), folds: Number(options.folds), in_sample_ratio: fraction(options.inSamplePct) };
}
