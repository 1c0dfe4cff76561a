/**
 * The Analysis view's state in the URL query, so a view can be shared and reloaded:
 * `?table=<dataset>&tf=1d|auto&from=<epoch ms>&to=<epoch ms>&session=regular&ind=sma(20)&ind=rsi;hide`
 * (one `ind` per indicator, in the order drawn, with its hidden flag and colour: `state/indicators.ts`).
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
}

export const EMPTY_QUERY: AnalysisQuery = { table: null, tf: null, from: null, to: null, session: "extended", indicators: [] };

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
  if (from === null || to === null || from >= to) return { table, tf, from: null, to: null, session, indicators };
  return { table, tf, from, to, session, indicators };
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
  return params;
}

/** A link to the Analysis page for a dataset (and optionally a timeframe). */
export function analysisHref(table: string, tf: TimeframeChoice | null = null): string {
  return `/analysis?${serializeAnalysisQuery({ ...EMPTY_QUERY, table, tf }).toString()}`;
}
