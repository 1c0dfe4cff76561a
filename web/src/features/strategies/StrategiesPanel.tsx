/**
 * The left pane's Strategies section: the stored strategies; the one open in the editor, checked as
 * it is typed (problems marked in the text and listed under it), saved as a new strategy or a new
 * version, or deleted; and the run form for the chart's series (`RunForm`).
 */
import { useMemo, useState } from "react";

import type { ParseProblem, RunAccepted, RunKind, Strategy } from "../../api/types";
import type { TimeWindow } from "../../chart/window";
import { ProblemBox } from "../../ui/ProblemBox";
import { useIndicatorCatalog } from "../indicators/useIndicatorCatalog";
import { problemLine } from "./diagnostics";
import { completionWords, TEMPLATE } from "./language";
import { LazyEditor } from "./LazyEditor";
import { formatMetric } from "./metrics";
import { RunForm } from "./RunForm";
import type { RunSeries } from "./runForm";
import { type Draft, useDeleteStrategy, useSaveStrategy, useStrategyList } from "./useStrategies";
import { useStrategyCheck } from "./useStrategyCheck";

interface Props {
  /** The chart's series, which runs trade; `null` while none is charted. */
  series: RunSeries | null;
  /** The chart's visible window (a run may be limited to it). */
  view: TimeWindow | null;
  /** A run was accepted: show it. */
  onStarted: (accepted: RunAccepted, kind: RunKind) => void;
  /** Whether the user may save, delete and run (analysts and admins). */
  canEdit: boolean;
  /** A strategy to open once listed (the assistant's "Apply strategy"); each new object asks again. */
  asked?: { id: number } | null;
}

const EMPTY_PROBLEMS: readonly ParseProblem[] = [];

function fromStrategy(s: Strategy): Draft {
  return { id: s.id, name: s.name, description: s.description, code: s.code };
}

function StrategyList({ strategies, openId, onOpen }: { strategies: readonly Strategy[]; openId: number | null; onOpen: (s: Strategy) => void }) {
  if (strategies.length === 0) return <div className="muted pad-small">No strategies yet.</div>;
  return (
    <ul className="strategy-list" data-testid="strategy-list">
      {strategies.map((s) => {
        const ret = s.performance_metrics.total_return_pct;
        return (
          <li key={s.id}>
            <button type="button" className={s.id === openId ? "strategy-item active" : "strategy-item"} onClick={() => onOpen(s)} data-testid="strategy-item" data-name={s.name}>
              <span className="strategy-item-name">{s.name}</span>
              <span className="muted">v{s.version}</span>
              {ret !== undefined && ret !== null ? <span className={ret >= 0 ? "up" : "down"}>{formatMetric("total_return_pct", ret)}</span> : null}
            </button>
          </li>
        );
      })}
    </ul>
  );
}

export function StrategiesPanel({ series, view, onStarted, canEdit, asked = null }: Props) {
  const { strategies, error: listError } = useStrategyList();
  const [draft, setDraft] = useState<Draft | null>(null);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [refused, setRefused] = useState<{ code: string; problems: ParseProblem[] } | null>(null);
  // Opened as soon as the list holds it (a strategy just saved appears once the list is read again).
  const [handled, setHandled] = useState<{ id: number } | null>(null);
  const askedStrategy = asked !== null && asked !== handled ? strategies?.find((s) => s.id === asked.id) : undefined;
  if (askedStrategy !== undefined) {
    setHandled(asked);
    setDraft(fromStrategy(askedStrategy));
    setConfirmDelete(false);
    setRefused(null);
  }
  const save = useSaveStrategy();
  const remove = useDeleteStrategy();
  const { catalog } = useIndicatorCatalog(draft !== null);

  const stored = draft?.id != null ? (strategies?.find((s) => s.id === draft.id) ?? null) : null;
  const dirty = draft !== null && (stored === null || stored.code !== draft.code || stored.name !== draft.name.trim() || stored.description !== draft.description);
  const checked = useStrategyCheck(draft?.code ?? "", "strategy", draft !== null);
  const current = checked.code !== null && checked.code === draft?.code ? checked.result : null;
  // Problems of the last save refused (`refused`), for the text it was refused for.
  const problems = current !== null ? (current.problems ?? EMPTY_PROBLEMS) : refused !== null && refused.code === draft?.code ? refused.problems : EMPTY_PROBLEMS;
  const problemsFor = current !== null ? checked.code : refused?.code ?? null;

  const declared = useMemo(() => [...(current?.parameters?.map((p) => p.name) ?? []), ...(current?.series ?? [])], [current]);
  const words = useMemo(() => completionWords(catalog ?? [], declared), [catalog, declared]);

  const open = (next: Draft | null): void => {
    setDraft(next);
    setConfirmDelete(false);
    setRefused(null);
    save.reset();
    remove.reset();
  };

  const onSave = (): void => {
    if (draft === null) return;
    save.mutate(draft, {
      onSuccess: (outcome) => {
        if (outcome.kind === "saved") {
          setDraft(fromStrategy(outcome.strategy));
          setRefused(null);
        } else {
          setRefused({ code: draft.code, problems: outcome.problems });
        }
      },
    });
  };

  const onDelete = (): void => {
    if (draft?.id == null) return;
    if (!confirmDelete) {
      setConfirmDelete(true);
      return;
    }
    remove.mutate(draft.id, { onSuccess: () => open(null) });
  };

  const nameProblem = draft !== null && draft.name.trim() === "" ? "A name." : null;
  const canSave = canEdit && draft !== null && dirty && nameProblem === null && draft.code.trim() !== "" && !save.isPending;

  return (
    <div className="strategies" data-testid="strategies-panel">
      <ProblemBox error={listError} testId="strategies-problem" />
      <div className="strategies-toolbar">
        {canEdit ? (
          <button type="button" className="btn btn-small" onClick={() => open({ id: null, name: "", description: "", code: TEMPLATE })} data-testid="strategy-new">
            + New
          </button>
        ) : null}
        {draft !== null ? (
          <button type="button" className="btn btn-small" onClick={() => open(null)}>
            Close
          </button>
        ) : null}
      </div>
      {strategies !== null ? <StrategyList strategies={strategies} openId={draft?.id ?? null} onOpen={(s) => open(fromStrategy(s))} /> : null}

      {draft !== null ? (
        <div className="strategy-draft" data-testid="strategy-draft" data-id={draft.id ?? ""} data-dirty={dirty ? "true" : "false"}>
          <input
            className="input input-small"
            value={draft.name}
            placeholder="Name"
            aria-label="Strategy name"
            aria-invalid={nameProblem !== null}
            maxLength={120}
            readOnly={!canEdit}
            data-testid="strategy-name"
            onChange={(e) => setDraft({ ...draft, name: e.target.value })}
          />
          <LazyEditor
            value={draft.code}
            onChange={(code) => setDraft((d) => (d !== null ? { ...d, code } : d))}
            problems={problems}
            checked={problemsFor}
            words={words}
            readOnly={!canEdit}
            label="Strategy code"
          />
          <div className="strategy-status" data-testid="strategy-check" data-state={checked.pending ? "checking" : current === null ? "" : current.ok ? "ok" : "problems"}>
            {checked.pending ? <span className="muted">Checking…</span> : current?.ok === true ? <span className="up">Parses: {(current.rules ?? []).join(", ")}</span> : null}
          </div>
          {problems.length > 0 && problemsFor === draft.code ? (
            <ul className="strategy-problems error-text" role="alert" data-testid="strategy-problems">
              {problems.map((p) => (
                <li key={`${p.line}:${p.column}:${p.message}`} data-line={p.line} data-column={p.column}>
                  {problemLine(p)}
                </li>
              ))}
            </ul>
          ) : null}
          <ProblemBox error={checked.error} testId="strategy-check-problem" />
          {canEdit ? (
            <div className="strategy-actions">
              <button type="button" className="btn btn-small btn-primary" disabled={!canSave} onClick={onSave} data-testid="strategy-save">
                {save.isPending ? "Saving…" : draft.id === null ? "Save" : "Save version"}
              </button>
              {draft.id !== null ? (
                <button type="button" className={confirmDelete ? "btn btn-small btn-danger" : "btn btn-small btn-danger-outline"} onClick={onDelete} disabled={remove.isPending} data-testid="strategy-delete">
                  {confirmDelete ? "Delete for good?" : "Delete"}
                </button>
              ) : null}
              <span className="muted strategy-saved" data-testid="strategy-saved">
                {dirty ? "unsaved changes" : stored !== null ? `saved · v${stored.version}` : ""}
              </span>
            </div>
          ) : null}
          <ProblemBox error={save.error ?? remove.error} testId="strategy-save-problem" />
          {stored !== null ? (
            dirty ? (
              <div className="muted pad-small">Save to run the text as it is now.</div>
            ) : (
              <RunForm key={stored.id} strategy={stored} series={series} view={view} onStarted={onStarted} canRun={canEdit} />
            )
          ) : null}
        </div>
      ) : null}
    </div>
  );
}
