/**
 * The projection and evaluation forms (pure): the methods and their parameters with the server's
 * defaults, each field checked as it is typed, and the requests they make.
 *
 * A parameter left empty takes its default; the request names every parameter of the method with
 * the value it will use (`level`, the band's nominal coverage, for every method but `linreg`, whose
 * band is ± `k` standard errors: its level follows from `k`). The ranges are the server's
 * (`PARAMS` in `pipelines/projections/methods.py`), which checks them again.
 */
import type { EvaluationRequest, ProjectionMethod, ProjectionRequest, Timeframe, TradingSession } from "../../api/types";

export interface MethodParam {
  name: string;
  label: string;
  default: number;
  integer: boolean;
  min: number;
  max: number;
  hint: string;
}

export interface MethodInfo {
  method: ProjectionMethod;
  /** Short, for the legend and the tables: `GBM`. */
  short: string;
  label: string;
  params: readonly MethodParam[];
  /** Whether it takes `level` (linreg's band is ± k standard errors instead). */
  level: boolean;
}

const windowParam = (value: number, min: number, max: number): MethodParam => ({ name: "window", label: "window", default: value, integer: true, min, max, hint: "bars fitted on" });

export const METHODS: readonly MethodInfo[] = [
  { method: "naive", short: "Naive", label: "Naive (random walk)", params: [windowParam(252, 2, 100_000)], level: true },
  {
    method: "linreg",
    short: "LinReg",
    label: "Regression channel",
    params: [windowParam(100, 3, 100_000), { name: "k", label: "k", default: 2, integer: false, min: 0.1, max: 10, hint: "± standard errors" }],
    level: false,
  },
  {
    method: "gbm",
    short: "GBM",
    label: "Monte-Carlo fan (GBM)",
    params: [
      windowParam(252, 3, 100_000),
      { name: "paths", label: "paths", default: 1000, integer: true, min: 10, max: 20_000, hint: "simulated paths" },
      { name: "seed", label: "seed", default: 0, integer: true, min: 0, max: 2 ** 31 - 1, hint: "random seed" },
    ],
    level: true,
  },
  { method: "ets", short: "ETS", label: "Exponential smoothing (ETS)", params: [windowParam(1000, 10, 20_000)], level: true },
  { method: "autoarima", short: "AutoARIMA", label: "Auto ARIMA", params: [windowParam(1000, 20, 5_000)], level: true },
];

export const LEVEL: MethodParam = { name: "level", label: "level %", default: 80, integer: false, min: 1, max: 99.9, hint: "the band's nominal coverage" };
export const MAX_HORIZON = 1000;
export const MAX_CUTS = 100;
export const DEFAULT_CUTS = 20;
export const DEFAULT_HORIZON = 20;

export function methodInfo(method: ProjectionMethod): MethodInfo {
  return METHODS.find((m) => m.method === method) ?? (METHODS[0] as MethodInfo);
}

export function isMethod(value: string): value is ProjectionMethod {
  return METHODS.some((m) => m.method === value);
}

/** The series on the chart, which a projection forecasts. */
export interface ProjectionSeries {
  table: string;
  symbol: string;
  /** The chart's timeframe (the one the server picked, for Auto). */
  timeframe: Timeframe;
  adjusted: boolean;
  session: TradingSession;
}

export interface ProjectionForm {
  method: ProjectionMethod;
  horizon: string;
  level: string;
  /** The method's parameters as typed, by name; empty: the default. */
  params: Readonly<Record<string, string>>;
}

export const DEFAULT_FORM: ProjectionForm = { method: "gbm", horizon: String(DEFAULT_HORIZON), level: String(LEVEL.default), params: {} };

function numberOf(text: string): number | null {
  const t = text.trim();
  if (!/^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/.test(t)) return null;
  const n = Number(t);
  return Number.isFinite(n) ? n : null;
}

/** Why a parameter's text cannot be sent, or `null` (empty keeps the default). */
export function paramProblem(param: MethodParam, text: string | undefined): string | null {
  if (text === undefined || text.trim() === "") return null;
  const n = numberOf(text);
  if (n === null) return "Not a number.";
  if (param.integer && !Number.isInteger(n)) return "A whole number.";
  if (n < param.min) return `At least ${param.min}.`;
  if (n > param.max) return `At most ${param.max.toLocaleString("en-US")}.`;
  return null;
}

/** Why `text` is not a whole number from 1 to `max`, or `null`. */
function countProblem(text: string, max: number): string | null {
  const n = numberOf(text);
  if (n === null || !Number.isInteger(n) || n < 1 || n > max) return `A whole number from 1 to ${max.toLocaleString("en-US")}.`;
  return null;
}

/** What is wrong with the form, by field: `horizon`, `level`, `param:<name>`. */
export function formProblems(form: ProjectionForm): Record<string, string> {
  const problems: Record<string, string> = {};
  const horizon = countProblem(form.horizon, MAX_HORIZON);
  if (horizon !== null) problems.horizon = horizon;
  const info = methodInfo(form.method);
  const level = info.level ? paramProblem(LEVEL, form.level) : null;
  if (level !== null) problems.level = level;
  for (const param of info.params) {
    const problem = paramProblem(param, form.params[param.name]);
    if (problem !== null) problems[`param:${param.name}`] = problem;
  }
  return problems;
}

/** The value a parameter will have: as typed, or its default. */
function valueOf(param: MethodParam, text: string | undefined): number {
  return text !== undefined && text.trim() !== "" ? (numberOf(text) ?? param.default) : param.default;
}

/** The method's parameters with the values they will have (defaults for those left empty), and `level` where it takes one. */
export function requestParams(form: ProjectionForm): Record<string, number> {
  const info = methodInfo(form.method);
  const params: Record<string, number> = {};
  for (const param of info.params) params[param.name] = valueOf(param, form.params[param.name]);
  if (info.level) params.level = valueOf(LEVEL, form.level);
  return params;
}

/** The projection the form asks for (a valid form assumed: see `formProblems`). */
export function projectionRequest(series: ProjectionSeries, form: ProjectionForm): ProjectionRequest {
  return {
    table: series.table,
    timeframe: series.timeframe,
    method: form.method,
    horizon: Number(form.horizon.trim()),
    params: requestParams(form),
    session: series.session,
  };
}

export interface EvaluationForm {
  horizon: string;
  cuts: string;
  /** The methods ranked (at least one). */
  methods: readonly ProjectionMethod[];
}

export const DEFAULT_EVALUATION: EvaluationForm = { horizon: String(DEFAULT_HORIZON), cuts: String(DEFAULT_CUTS), methods: METHODS.map((m) => m.method) };

export function evaluationProblems(form: EvaluationForm): Record<string, string> {
  const problems: Record<string, string> = {};
  const horizon = countProblem(form.horizon, MAX_HORIZON);
  if (horizon !== null) problems.horizon = horizon;
  const cuts = countProblem(form.cuts, MAX_CUTS);
  if (cuts !== null) problems.cuts = cuts;
  if (form.methods.length === 0) problems.methods = "At least one method.";
  return problems;
}

/** The evaluation the form asks for; every method is the server's default, so then none are named. */
export function evaluationRequest(series: ProjectionSeries, form: EvaluationForm): EvaluationRequest {
  const request: EvaluationRequest = {
    table: series.table,
    timeframe: series.timeframe,
    session: series.session,
    horizon: Number(form.horizon.trim()),
    cuts: Number(form.cuts.trim()),
  };
  if (form.methods.length < METHODS.length) request.methods = METHODS.map((m) => m.method).filter((m) => form.methods.includes(m));
  return request;
}
