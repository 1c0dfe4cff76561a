/** Admin: the audit log, newest first, filtered by actor, action, outcome and a time range (UTC). */
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { type SubmitEvent, useMemo, useState } from "react";
import { useSearchParams } from "react-router-dom";

import { listAudit } from "../../api/endpoints/admin";
import { formatInstant, isoToUtcInput, utcInputToIso } from "../../lib/instant";
import { adminKeys } from "../../queries/keys/admin";
import { ProblemBox } from "../../ui/ProblemBox";
import {
  type AuditFilters,
  auditQuery,
  detailText,
  distinct,
  EMPTY_FILTERS,
  lastHours,
  LIMITS,
  newestFirst,
  OUTCOMES,
  parseAuditFilters,
  writeAuditFilters,
} from "./audit";

const PRESETS: readonly { label: string; hours: number }[] = [
  { label: "1 h", hours: 1 },
  { label: "24 h", hours: 24 },
  { label: "7 d", hours: 24 * 7 },
];

// By any outcome the server may send, not just the ones this build knows.
const OUTCOME_CLASS: Readonly<Record<string, string>> = { ok: "pill pill-complete", denied: "pill pill-failed", error: "pill pill-cancelled" };

export function AuditLog() {
  const [params, setParams] = useSearchParams();
  const applied = useMemo(() => parseAuditFilters(params), [params]);
  const key = writeAuditFilters(applied).toString();
  const query = useMemo(() => auditQuery(applied), [applied]);
  // The entries shown stay until those of new filters arrive.
  const log = useQuery({ queryKey: adminKeys.audit(query), queryFn: ({ signal }) => listAudit(query, signal), placeholderData: keepPreviousData });
  const [draft, setDraft] = useState<AuditFilters>(applied);
  const [draftKey, setDraftKey] = useState(key);
  // A new URL (back/forward, a shared link) resets the form to what it shows.
  if (draftKey !== key) {
    setDraftKey(key);
    setDraft(applied);
  }

  const entries = useMemo(() => (log.data !== undefined ? newestFirst(log.data) : null), [log.data]);
  const apply = (filters: AuditFilters): void => setParams((prev) => writeAuditFilters(filters, prev));
  const submit = (event: SubmitEvent<HTMLFormElement>): void => {
    event.preventDefault();
    apply(draft);
  };
  const text = (field: "actor" | "action") => ({
    value: draft[field],
    onChange: (e: { target: { value: string } }) => setDraft({ ...draft, [field]: e.target.value }),
  });

  return (
    <div>
      <form className="form inline-form" onSubmit={submit} data-testid="audit-filters">
        <div className="row">
          <label className="field">
            <span>Actor</span>
            <input className="input" name="actor" list="audit-actors" placeholder="any" {...text("actor")} />
          </label>
          <label className="field">
            <span>Action</span>
            <input className="input" name="action" list="audit-actions" placeholder="any" {...text("action")} />
          </label>
          <label className="field">
            <span>Outcome</span>
            <select className="input" name="outcome" value={draft.outcome} onChange={(e) => setDraft({ ...draft, outcome: e.target.value })}>
              <option value="">any</option>
              {OUTCOMES.map((o) => (
                <option key={o} value={o}>
                  {o}
                </option>
              ))}
            </select>
          </label>
          <label className="field">
            <span>Since (UTC)</span>
            <input
              className="input"
              name="since"
              type="datetime-local"
              value={isoToUtcInput(draft.since || null)}
              onChange={(e) => setDraft({ ...draft, since: utcInputToIso(e.target.value) ?? "" })}
            />
          </label>
          <label className="field">
            <span>Until (UTC)</span>
            <input
              className="input"
              name="until"
              type="datetime-local"
              value={isoToUtcInput(draft.until || null)}
              onChange={(e) => setDraft({ ...draft, until: utcInputToIso(e.target.value) ?? "" })}
            />
          </label>
          <label className="field field-narrow">
            <span>Limit</span>
            <select className="input" name="limit" value={String(draft.limit)} onChange={(e) => setDraft({ ...draft, limit: Number(e.target.value) })}>
              <option value="0">default</option>
              {LIMITS.map((n) => (
                <option key={n} value={String(n)}>
                  {n}
                </option>
              ))}
            </select>
          </label>
        </div>
        <div className="row">
          <button className="btn btn-primary" type="submit" data-testid="audit-apply">
            Apply
          </button>
          {PRESETS.map((p) => (
            <button key={p.label} className="btn" type="button" onClick={() => apply({ ...draft, ...lastHours(p.hours) })}>
              Last {p.label}
            </button>
          ))}
          <button className="btn" type="button" onClick={() => apply(EMPTY_FILTERS)}>
            Clear
          </button>
          <button className="btn" type="button" onClick={() => void log.refetch()} disabled={log.isFetching}>
            Reload
          </button>
        </div>
        {entries !== null ? (
          <>
            <datalist id="audit-actors">
              {distinct(entries, "actor").map((v) => (
                <option key={v} value={v} />
              ))}
            </datalist>
            <datalist id="audit-actions">
              {distinct(entries, "action").map((v) => (
                <option key={v} value={v} />
              ))}
            </datalist>
          </>
        ) : null}
      </form>
      <ProblemBox error={log.error} testId="audit-problem" />
      {entries === null ? (
        log.isFetching ? <div className="muted">Loading…</div> : null
      ) : (
        <div className="table-wrap">
          <table className="table table-dense" data-testid="audit-log" data-count={entries.length} data-loading={log.isFetching ? "true" : "false"}>
            <thead>
              <tr>
                <th>When (UTC)</th>
                <th>Actor</th>
                <th>Action</th>
                <th>Target</th>
                <th>Outcome</th>
                <th>Status</th>
                <th>IP</th>
                <th>Detail</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((e, i) => (
                <tr key={`${e.at}-${i}`} data-testid="audit-row" data-at={e.at} data-actor={e.actor ?? ""} data-action={e.action} data-outcome={e.outcome}>
                  <td className="nowrap">{formatInstant(e.at)}</td>
                  <td className="nowrap">
                    {e.actor ?? "—"} <span className="muted">{e.actor_kind}</span>
                  </td>
                  <td>
                    <code>{e.action}</code>
                  </td>
                  <td className="wrap-anywhere">{e.target ?? "—"}</td>
                  <td>
                    <span className={OUTCOME_CLASS[e.outcome] ?? "pill"}>{e.outcome}</span>
                  </td>
                  <td className="num">{e.status ?? "—"}</td>
                  <td className="nowrap">{e.ip ?? "—"}</td>
                  <td className="wrap-anywhere muted">{detailText(e.detail)}</td>
                </tr>
              ))}
              {entries.length === 0 ? (
                <tr>
                  <td colSpan={8} className="muted">
                    Nothing matches.
                  </td>
                </tr>
              ) : null}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
