/**
 * The Analysis view's state in the URL query, so a view can be shared and reloaded:
 * `?table=<dataset>&tf=1d&from=<epoch ms>&to=<epoch ms>`.
 */
import type { Timeframe } from "../api/types";
import { isTimeframe } from "./timeframe";

export interface AnalysisQuery {
  table: string | null;
  tf: Timeframe | null;
  /** Visible window, epoch ms UTC; both set or both null. */
  from: number | null;
  to: number | null;
}

export const EMPTY_QUERY: AnalysisQuery = { table: null, tf: null, from: null, to: null };

function parseMs(value: string | null): number | null {
  if (value === null || !/^-?\d{1,16}$/.test(value.trim())) return null;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : null;
}

/** Reads the Analysis state from a query string; invalid parts become `null`. */
export function parseAnalysisQuery(params: URLSearchParams): AnalysisQuery {
  const tableRaw = params.get("table");
  const table = tableRaw !== null && tableRaw.trim() !== "" ? tableRaw.trim() : null;
  const tfRaw = params.get("tf");
  const tf = isTimeframe(tfRaw) ? tfRaw : null;
  const from = parseMs(params.get("from"));
  const to = parseMs(params.get("to"));
  if (from === null || to === null || from >= to) return { table, tf, from: null, to: null };
  return { table, tf, from, to };
}

/** Writes the Analysis state as a query string (stable key order, empty parts omitted). */
export function serializeAnalysisQuery(query: AnalysisQuery): URLSearchParams {
  const params = new URLSearchParams();
  if (query.table !== null) params.set("table", query.table);
  if (query.tf !== null) params.set("tf", query.tf);
  if (query.from !== null && query.to !== null && query.from < query.to) {
    params.set("from", String(Math.round(query.from)));
    params.set("to", String(Math.round(query.to)));
  }
  return params;
}

/** A link to the Analysis page for a dataset (and optionally a timeframe). */
export function analysisHref(table: string, tf: Timeframe | null = null): string {
  return `/analysis?${serializeAnalysisQuery({ ...EMPTY_QUERY, table, tf }).toString()}`;
}
