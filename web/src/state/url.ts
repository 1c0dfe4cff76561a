/**
 * The Analysis view's state in the URL query, so a view can be shared and reloaded:
 * `?table=<dataset>&tf=1d|auto&from=<epoch ms>&to=<epoch ms>&session=regular&ind=sma(20)&ind=rsi;hide`
 * (one `ind` per indicator, in the order drawn, with its hidden flag and colour: `state/indicators.ts`),
 * `&run=<run id>` (a strategy run: its results shown, a backtest's trades marked on the chart) and
 * `&cmp=<run id>` (a second run compared with it) and `&proj=<id>,<id>` (the projections drawn, at most
 * ten, in order).
 */
import type { Timeframe, TradingSession } from "../api/types";
import { type ActiveIndicator, formatActiveIndicator, parseActiveIndicators } from "./indicators";
import { isTimeframe } from "./timeframe";

/** A timeframe, or `auto`: the server picks the finest one that fits the pixel budget. */
export type TimeframeChoice = Timeframe | "auto";

export interface AnalysisQuery {
  table: string | null;
  tf: TimeframeChoice | null;
  /** Visible window, epoch ms UTC; both set or both null. */
  from: number | null;
  to: number | null;
  /** `extended` (the default, omitted from the URL) or `regular`. */
  session: TradingSession;
  /** Indicators on the chart, in order (`sma(20)`, `bbands(20,2,2)`), shown or hidden. */
  indicators: readonly ActiveIndicator[];
  /** The strategy run shown (its trades on the chart when it is a backtest of this series). */
  run: string | null;
  /** A run compared with `run` (ignored without `run`). */
  compare: string | null;
  /** The projections drawn on the chart, in order (their colours follow it). */
  projections: readonly string[];
}

export const EMPTY_QUERY: AnalysisQuery = { table: null, tf: null, from: null, to: null, session: "extended", indicators: [], run: null, compare: null, projections: [] };

/** Most projections drawn at once (chart-data joins at most ten). */
export const MAX_PROJECTIONS = 10;

/** What a run id may look like (anything else in the URL is dropped). */
const RUN_ID = /^[A-Za-z0-9_.:-]{1,100}$/;

/** A run id from the URL, or `null` when absent or malformed. */
export function parseRunId(value: string | null): string | null {
  const text = value?.trim() ?? "";
  return RUN_ID.test(text) ? text : null;
}

/** The projection ids of a `proj` parameter (comma-separated): well-formed ones, each once, at most ten. */
export function parseProjectionIds(value: string | null): string[] {
  const ids: string[] = [];
  for (const part of (value ?? "").split(",")) {
    const id = parseRunId(part);
    if (id !== null && !ids.includes(id) && ids.length < MAX_PROJECTIONS) ids.push(id);
  }
  return ids;
}

function parseMs(value: string | null): number | null {
  if (value === null || !/^-?\d{1,16}$/.test(value.trim())) return null;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : null;
}

/** Reads the Analysis state from a query string; invalid parts become `null` (or the default). */
export function parseAnalysisQuery(params: URLSearchParams): AnalysisQuery {
  const tableRaw = params.get("table");
  const table = tableRaw !== null && tableRaw.trim() !== "" ? tableRaw.trim() : null;
  const tfRaw = params.get("tf");
  const tf = tfRaw === "auto" ? "auto" : isTimeframe(tfRaw) ? tfRaw : null;
  const session: TradingSession = params.get("session") === "regular" ? "regular" : "extended";
  const from = parseMs(params.get("from"));
  const to = parseMs(params.get("to"));
  const indicators = parseActiveIndicators(params.getAll("ind"));
  const run = parseRunId(params.get("run"));
  const compare = run !== null ? parseRunId(params.get("cmp")) : null;
  const runs = { run, compare: compare !== run ? compare : null, projections: parseProjectionIds(params.get("proj")) };
  if (from === null || to === null || from >= to) return { table, tf, from: null, to: null, session, indicators, ...runs };
  return { table, tf, from, to, session, indicators, ...runs };
}

/** Writes the Analysis state as a query string (stable key order, empty and default parts omitted). */
export function serializeAnalysisQuery(query: AnalysisQuery): URLSearchParams {
  const params = new URLSearchParams();
  if (query.table !== null) params.set("table", query.table);
  if (query.tf !== null) params.set("tf", query.tf);
  if (query.from !== null && query.to !== null && query.from < query.to) {
    params.set("from", String(Math.round(query.from)));
    params.set("to", String(Math.round(query.to)));
  }
  if (query.session === "regular") params.set("session", "regular");
  for (const indicator of query.indicators) params.append("ind", formatActiveIndicator(indicator));
  if (query.run !== null) {
    params.set("run", query.run);
    if (query.compare !== null && query.compare !== query.run) params.set("cmp", query.compare);
  }
  if (query.projections.length > 0) params.set("proj", query.projections.join(","));
  return params;
}

/** A link to the Analysis page for a dataset (and optionally a timeframe). */
export function analysisHref(table: string, tf: TimeframeChoice | null = null): string {
  return `/analysis?${serializeAnalysisQuery({ ...EMPTY_QUERY, table, tf }).toString()}`;
}
