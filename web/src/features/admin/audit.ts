/** The audit log's filters, kept in the /admin URL query so a filtered view can be shared and reloaded. */
import type { AuditQuery } from "../../api/endpoints/admin";
import type { AuditEntry } from "../../api/types";

export interface AuditFilters {
  actor: string;
  action: string;
  outcome: string;
  /** ISO instants or "" (no bound). */
  since: string;
  until: string;
  /** 0: the server's default. */
  limit: number;
}

export const EMPTY_FILTERS: AuditFilters = { actor: "", action: "", outcome: "", since: "", until: "", limit: 0 };
export const LIMITS: readonly number[] = [100, 500, 1000];
export const OUTCOMES: readonly AuditEntry["outcome"][] = ["ok", "denied", "error"];

/** An entry's `detail` object as short `key=value` text. */
export function detailText(detail: unknown): string {
  if (detail === null || detail === undefined) return "";
  if (typeof detail !== "object") return typeof detail === "string" ? detail : JSON.stringify(detail);
  return Object.entries(detail as Record<string, unknown>)
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" · ");
}

const isoOrEmpty = (value: string | null): string => {
  if (value === null || value.trim() === "") return "";
  return Number.isNaN(Date.parse(value)) ? "" : value.trim();
};

export function parseAuditFilters(params: URLSearchParams): AuditFilters {
  const limit = Number(params.get("limit") ?? "0");
  return {
    actor: (params.get("actor") ?? "").trim(),
    action: (params.get("action") ?? "").trim(),
    outcome: (params.get("outcome") ?? "").trim(),
    since: isoOrEmpty(params.get("since")),
    until: isoOrEmpty(params.get("until")),
    limit: Number.isSafeInteger(limit) && limit > 0 ? limit : 0,
  };
}

/** Writes the filters into `base` (other keys kept), leaving out empty ones. */
export function writeAuditFilters(filters: AuditFilters, base: URLSearchParams = new URLSearchParams()): URLSearchParams {
  const params = new URLSearchParams(base);
  for (const key of ["actor", "action", "outcome", "since", "until"] as const) {
    const value = filters[key].trim();
    if (value !== "") params.set(key, value);
    else params.delete(key);
  }
  if (filters.limit > 0) params.set("limit", String(filters.limit));
  else params.delete("limit");
  return params;
}

export function auditQuery(filters: AuditFilters): AuditQuery {
  const query: AuditQuery = {};
  if (filters.actor !== "") query.actor = filters.actor;
  if (filters.action !== "") query.action = filters.action;
  if (filters.outcome !== "") query.outcome = filters.outcome;
  if (filters.since !== "") query.since = filters.since;
  if (filters.until !== "") query.until = filters.until;
  if (filters.limit > 0) query.limit = filters.limit;
  return query;
}

/** Newest first, whatever order the server answered in (ties keep the server's order). */
export function newestFirst(entries: readonly AuditEntry[]): AuditEntry[] {
  return entries
    .map((entry, i) => ({ entry, i, t: Date.parse(entry.at) }))
    .sort((a, b) => (Number.isNaN(b.t) ? 0 : b.t) - (Number.isNaN(a.t) ? 0 : a.t) || a.i - b.i)
    .map((x) => x.entry);
}

/** The distinct values of one field, sorted, for the filters' suggestions. */
export function distinct(entries: readonly AuditEntry[], field: "actor" | "action"): string[] {
  const values = new Set<string>();
  for (const entry of entries) {
    const value = entry[field];
    if (typeof value === "string" && value !== "") values.add(value);
  }
  return [...values].sort();
}

/** A quick time range: the last `hours` until now. */
export function lastHours(hours: number, nowMs: number = Date.now()): Pick<AuditFilters, "since" | "until"> {
  return { since: new Date(nowMs - hours * 3_600_000).toISOString(), until: "" };
}
