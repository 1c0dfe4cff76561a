/**
 * The left pane's Projections section, for the charted series: the form (method, horizon, the
 * band's level, the method's parameters) whose "Project" starts a projection (analysts), followed
 * through its job and drawn once complete; the series' projections with their status and score,
 * each shown on the chart or not, and deleted; and "Evaluate", which ranks the methods on the
 * series' past (walk-forward cuts), showing its progress and then the leaderboard.
 */
import { useQueryClient } from "@tanstack/react-query";
import { type SubmitEvent, useId, useState } from "react";

import type { Evaluation, Projection, ProjectionMethod } from "../../api/types";
import { projectionKeys } from "../../queries/keys/projections";
import { ProblemBox } from "../../ui/ProblemBox";
import { jobProgress, madeText, projectionColor, projectionName, rowTexts, statusText } from "./legend";
import {
  DEFAULT_EVALUATION,
  DEFAULT_FORM,
  type EvaluationForm,
  evaluationProblems,
  evaluationRequest,
  formProblems,
  isMethod,
  LEVEL,
  methodInfo,
  METHODS,
  type ProjectionForm,
  type ProjectionSeries,
  projectionRequest,
} from "./projectionForm";
import { useJobFollow } from "./useJobFollow";
import { isDone, useCreateProjection, useDeleteProjection, useEvaluation, useLeaderboard, useProjectionList, useStartEvaluation } from "./useProjections";

interface Props {
  /** The charted series; `null` while none is. */
  series: ProjectionSeries | null;
  /** The projections drawn (the URL's), in order. */
  drawn: readonly string[];
  onShow: (id: string, shown: boolean) => void;
  /** Whether the user may project, evaluate and delete (analysts and admins). */
  canEdit: boolean;
}

function Progress({ jobId, noun, onFinished, testId }: { jobId: string; noun: [string, string]; onFinished: () => void; testId: string }) {
  const { job, error, finished } = useJobFollow(jobId, onFinished);
  const progress = jobProgress(job, noun);
  if (finished) return null;
  return (
    <div className="projection-progress" data-testid={testId} data-state={job?.state ?? ""} data-done={progress?.done ?? ""} data-total={progress?.total ?? ""}>
      <span className="muted">{job === null || job.state === "queued" ? "Waiting for a worker…" : progress !== null ? "Running:" : "Computing…"}</span>
      {progress !== null ? (
        <>
          <div className="bar projection-progress-bar" role="progressbar" aria-valuemin={0} aria-valuemax={progress.total} aria-valuenow={progress.done} aria-valuetext={progress.text}>
            <div className="bar-fill" style={{ width: `${(progress.fraction * 100).toFixed(1)}%` }} />
          </div>
          <span className="nowrap">{progress.text}</span>
        </>
      ) : null}
      <ProblemBox error={error} testId={`${testId}-problem`} />
    </div>
  );
}

function Leaderboard({ evaluation }: { evaluation: Evaluation }) {
  return (
    <div className="table-wrap">
      <table className="table table-dense leaderboard" data-testid="leaderboard" data-horizon={evaluation.horizon} data-cuts={evaluation.cuts}>
        <caption className="muted">
          h{evaluation.horizon} · {evaluation.cuts} cuts · best first
        </caption>
        <thead>
          <tr>
            <th>#</th>
            <th>Method</th>
            <th className="num" title="1 − MAE / MAE of naive">
              Skill
            </th>
            <th className="num">MAE</th>
            <th className="num" title="Real closes inside the band / its nominal level">
              Inside
            </th>
            <th className="num" title="Direction right">
              Dir.
            </th>
          </tr>
        </thead>
        <tbody>
          {(evaluation.rows ?? []).map((row, index) => {
            const t = rowTexts(row);
            const skill = row.skill ?? 0;
            return (
              <tr
                key={row.method}
                data-testid="leaderboard-row"
                data-method={row.method}
                data-skill={row.skill ?? ""}
                title={row.error != null ? row.error : `MAPE ${t.mape} · ${row.cuts_scored} cuts scored`}
              >
                <td>{index + 1}</td>
                <td>{methodInfo(row.method).short}</td>
                <td className={`num ${skill > 0 ? "up" : skill < 0 ? "down" : ""}`}>{t.skill}</td>
                <td className="num">{t.mae}</td>
                <td className="num">{t.inside}</td>
                <td className="num">{t.direction}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

interface ItemProps {
  p: Projection;
  /** Its place among the projections drawn (-1: not drawn). */
  index: number;
  onShow: (id: string, shown: boolean) => void;
  /** Its job has finished: the list has more to say. */
  onFinished: () => void;
  canEdit: boolean;
}

function ProjectionItem({ p, index, onShow, onFinished, canEdit }: ItemProps) {
  const remove = useDeleteProjection();
  const [confirm, setConfirm] = useState(false);
  const drawn = index >= 0;
  const color = drawn ? projectionColor(index) : null;
  return (
    <li className="projection-item" data-testid="projection-item" data-id={p.id} data-status={p.status} data-drawn={drawn ? "true" : "false"}>
      <label className="projection-item-head">
        <input type="checkbox" checked={drawn} onChange={(e) => onShow(p.id, e.target.checked)} data-testid="projection-show" aria-label={`Draw ${projectionName(p)}`} />
        {color !== null ? <span className="projection-swatch" style={{ borderColor: color, background: `${color}33` }} aria-hidden="true" /> : null}
        <b>{projectionName(p)}</b>
        <span className={`pill pill-${p.status} projection-status`}>{p.status}</span>
      </label>
      <div className="muted small">{madeText(p.created_at)}</div>
      <div className="small" data-testid="projection-score">
        {statusText(p)}
      </div>
      {!isDone(p.status) && p.job_id != null ? <Progress jobId={p.job_id} noun={["step", "steps"]} onFinished={onFinished} testId="projection-job" /> : null}
      {canEdit ? (
        <button
          type="button"
          className={confirm ? "btn btn-small btn-danger" : "btn btn-small btn-danger-outline"}
          disabled={remove.isPending}
          onClick={() => {
            if (!confirm) setConfirm(true);
            else
              remove.mutate(p.id, {
                onSuccess: () => {
                  if (drawn) onShow(p.id, false);
                },
              });
          }}
          onBlur={() => setConfirm(false)}
          data-testid="projection-delete"
        >
          {confirm ? "Delete for good?" : "Delete"}
        </button>
      ) : null}
      <ProblemBox error={remove.error} testId="projection-delete-problem" />
    </li>
  );
}

export function ProjectionsPanel({ series, drawn, onShow, canEdit }: Props) {
  const client = useQueryClient();
  const id = useId();
  const key = series !== null ? { symbol: series.symbol, timeframe: series.timeframe, adjusted: series.adjusted } : null;
  const { projections, error: listError } = useProjectionList(key);
  const [form, setForm] = useState<ProjectionForm>(DEFAULT_FORM);
  const create = useCreateProjection();
  const problems = formProblems(form);
  const valid = Object.keys(problems).length === 0;
  const info = methodInfo(form.method);

  const [evalForm, setEvalForm] = useState<EvaluationForm>(DEFAULT_EVALUATION);
  const [evaluating, setEvaluating] = useState<{ id: string; jobId: string } | null>(null);
  const evaluate = useStartEvaluation();
  const evalProblems = evaluationProblems(evalForm);
  const { evaluation, error: evaluationError } = useEvaluation(evaluating?.id ?? null);
  const { leaderboard, error: leaderboardError } = useLeaderboard(key);
  const board = evaluation !== null && evaluation.status === "complete" ? evaluation : leaderboard;

  const refreshList = (): void => void client.invalidateQueries({ queryKey: [...projectionKeys.all, "list"] });
  const refreshEvaluation = (): void => {
    void client.invalidateQueries({ queryKey: projectionKeys.evaluation(evaluating?.id ?? null) });
    void client.invalidateQueries({ queryKey: [...projectionKeys.all, "leaderboard"] });
  };

  const submit = (e: SubmitEvent<HTMLFormElement>): void => {
    e.preventDefault();
    if (series === null || !valid || !canEdit) return;
    create.mutate(projectionRequest(series, form), {
      onSuccess: (accepted) => onShow(accepted.projection_id, true),
    });
  };
  const submitEvaluation = (e: SubmitEvent<HTMLFormElement>): void => {
    e.preventDefault();
    if (series === null || Object.keys(evalProblems).length > 0 || !canEdit) return;
    evaluate.mutate(evaluationRequest(series, evalForm), { onSuccess: (accepted) => setEvaluating({ id: accepted.evaluation_id, jobId: accepted.job_id }) });
  };
  const setParam = (name: string, value: string): void => setForm({ ...form, params: { ...form.params, [name]: value } });
  const evaluationDone = evaluation !== null && isDone(evaluation.status);

  return (
    <div className="projections" data-testid="projections-panel">
      <div className="proj-series muted" data-testid="projection-series">
        {series !== null ? (
          <>
            on <b className="symbol">{series.symbol}</b> <span>{series.timeframe}</span>
          </>
        ) : (
          "Chart a dataset to project it."
        )}
      </div>
      <form className="proj-form" onSubmit={submit} noValidate data-testid="projection-form" data-method={form.method}>
        <div className="proj-grid">
          <label className="proj-field proj-wide">
            <span>Method</span>
            <select
              className="input input-small"
              value={form.method}
              onChange={(e) => isMethod(e.target.value) && setForm({ ...form, method: e.target.value, params: {} })}
              data-testid="projection-method"
            >
              {METHODS.map((m) => (
                <option key={m.method} value={m.method}>
                  {m.label}
                </option>
              ))}
            </select>
          </label>
          <label className="proj-field">
            <span>Horizon (bars)</span>
            <input className="input input-small" inputMode="numeric" value={form.horizon} aria-invalid={problems.horizon !== undefined} onChange={(e) => setForm({ ...form, horizon: e.target.value })} data-testid="projection-horizon" />
            {problems.horizon !== undefined ? <span className="field-error">{problems.horizon}</span> : null}
          </label>
          <label className="proj-field" title={info.level ? LEVEL.hint : "The band is ± k standard errors: its level follows from k"}>
            <span>Band level %</span>
            <input
              className="input input-small"
              inputMode="decimal"
              value={info.level ? form.level : ""}
              placeholder={info.level ? "" : "from k"}
              disabled={!info.level}
              aria-invalid={problems.level !== undefined}
              onChange={(e) => setForm({ ...form, level: e.target.value })}
              data-testid="projection-level"
            />
            {problems.level !== undefined ? <span className="field-error">{problems.level}</span> : null}
          </label>
        </div>
        <fieldset className="proj-params">
          <legend className="muted">{info.label}</legend>
          {info.params.map((param) => {
            const problem = problems[`param:${param.name}`];
            return (
              <div key={param.name} className="param-row">
                <label htmlFor={`${id}-${param.name}`} title={param.hint}>
                  {param.label}
                </label>
                <input
                  id={`${id}-${param.name}`}
                  className="input input-small"
                  value={form.params[param.name] ?? ""}
                  placeholder={String(param.default)}
                  aria-invalid={problem !== undefined}
                  data-testid="projection-param"
                  data-param={param.name}
                  onChange={(e) => setParam(param.name, e.target.value)}
                />
                {problem !== undefined ? <span className="param-problem error-text">{problem}</span> : <span className="param-range muted">{param.hint}</span>}
              </div>
            );
          })}
        </fieldset>
        <div className="proj-actions">
          <button type="submit" className="btn btn-small btn-primary" disabled={!valid || series === null || !canEdit || create.isPending} data-testid="projection-submit">
            {create.isPending ? "Starting…" : "Project"}
          </button>
          {!canEdit ? <span className="muted">Analysts make projections.</span> : null}
        </div>
        <ProblemBox error={create.error} testId="projection-problem" />
      </form>

      <ProblemBox error={listError} testId="projections-problem" />
      {projections !== null ? (
        projections.length === 0 ? (
          <div className="muted pad-small">No projections of this series yet.</div>
        ) : (
          <ul className="projection-list" data-testid="projection-list">
            {projections.map((p) => (
              <ProjectionItem key={p.id} p={p} index={drawn.indexOf(p.id)} onShow={onShow} onFinished={refreshList} canEdit={canEdit} />
            ))}
          </ul>
        )
      ) : null}

      <form className="proj-form" onSubmit={submitEvaluation} noValidate data-testid="evaluation-form">
        <div className="muted">Rank the methods on this series' past: each forecasts from cuts of it, scored against what came.</div>
        <div className="proj-grid">
          <label className="proj-field">
            <span>Horizon (bars)</span>
            <input className="input input-small" inputMode="numeric" value={evalForm.horizon} aria-invalid={evalProblems.horizon !== undefined} onChange={(e) => setEvalForm({ ...evalForm, horizon: e.target.value })} data-testid="evaluation-horizon" />
            {evalProblems.horizon !== undefined ? <span className="field-error">{evalProblems.horizon}</span> : null}
          </label>
          <label className="proj-field">
            <span>Cuts</span>
            <input className="input input-small" inputMode="numeric" value={evalForm.cuts} aria-invalid={evalProblems.cuts !== undefined} onChange={(e) => setEvalForm({ ...evalForm, cuts: e.target.value })} data-testid="evaluation-cuts" />
            {evalProblems.cuts !== undefined ? <span className="field-error">{evalProblems.cuts}</span> : null}
          </label>
          <div className="proj-wide projection-methods">
            {METHODS.map((m) => (
              <label key={m.method} className="nowrap">
                <input
                  type="checkbox"
                  checked={evalForm.methods.includes(m.method)}
                  onChange={(e) =>
                    setEvalForm({ ...evalForm, methods: e.target.checked ? [...evalForm.methods, m.method] : evalForm.methods.filter((x: ProjectionMethod) => x !== m.method) })
                  }
                  data-testid="evaluation-method"
                  data-method={m.method}
                />{" "}
                {m.short}
              </label>
            ))}
            {evalProblems.methods !== undefined ? <span className="field-error">{evalProblems.methods}</span> : null}
          </div>
        </div>
        <div className="proj-actions">
          <button
            type="submit"
            className="btn btn-small"
            disabled={Object.keys(evalProblems).length > 0 || series === null || !canEdit || evaluate.isPending || (evaluating !== null && !evaluationDone)}
            data-testid="evaluation-submit"
          >
            {evaluate.isPending ? "Starting…" : "Evaluate"}
          </button>
        </div>
        <ProblemBox error={evaluate.error ?? evaluationError ?? leaderboardError} testId="evaluation-problem" />
        {evaluating !== null && !evaluationDone ? (
          <Progress key={evaluating.jobId} jobId={evaluating.jobId} noun={["cut", "cuts"]} onFinished={refreshEvaluation} testId="evaluation-progress" />
        ) : null}
        {evaluation !== null && evaluation.status === "failed" ? (
          <div className="error-text small" data-testid="evaluation-failed">
            The evaluation failed{evaluation.error != null ? `: ${evaluation.error}` : "."}
          </div>
        ) : null}
      </form>
      {board !== null ? <Leaderboard evaluation={board} /> : null}
    </div>
  );
}
