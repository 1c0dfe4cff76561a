/**
 * Agent tasks: the workflows (a universe backtested and ranked, or a goal researched), a form to
 * start one, and the user's tasks with their steps as they go (live from `agent_status` events), the
 * ranking, the summary, what they used and cost, and Cancel.
 */
import { useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import type { Dataset, MetricName, Timeframe } from "../../api/types";
import { TIMEFRAMES } from "../../state/timeframe";
import { ProblemBox } from "../../ui/ProblemBox";
import { type AgentForm, cellText, EMPTY_AGENT_FORM, RANK_METRICS, rankingColumns, stepsDone, taskRequest, usageLine } from "./agents";
import { assistantKeys, cancelTask, startTask } from "./api";
import { MessageMarkdown } from "./Markdown";
import type { ChartTarget } from "./references";
import { ReferenceChips } from "./ReferenceChips";
import type { AgentTask, StepState, WorkflowName, WorkflowTemplate } from "./types";
import { isActive, upsertTask, useAgentTasks, useWorkflows } from "./useAssistant";

const STEP_ICON: Partial<Record<StepState, string>> = { pending: "○", running: "◔", complete: "✓", failed: "✗", skipped: "–", cancelled: "■" };
const WORKFLOW_TITLE: Partial<Record<WorkflowName, string>> = { backtest_universe: "Backtest a universe", research: "Research a goal" };

function TaskView({ task, datasets, onOpen }: { task: AgentTask; datasets: readonly Dataset[] | null; onOpen: (target: ChartTarget) => void }) {
  const client = useQueryClient();
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<unknown>(null);
  const [done, total] = stepsDone(task);
  const rankBy = typeof task.params.rank_by === "string" ? task.params.rank_by : null;
  const ranking = task.ranking ?? [];
  const columns = rankingColumns(ranking, rankBy);
  const usage = usageLine(task.usage ?? [], task.cost_usd);
  const cancel = async (): Promise<void> => {
    setBusy(true);
    setProblem(null);
    try {
      const next = await cancelTask(task.task_id);
      client.setQueryData<AgentTask[]>(assistantKeys.tasks(), (list) => upsertTask(list, next));
    } catch (error) {
      setProblem(error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <li className="agent-task" data-testid="agent-task" data-state={task.state} data-task={task.task_id}>
      <div className="agent-task-head">
        <strong>{WORKFLOW_TITLE[task.workflow] ?? task.workflow}</strong>
        <span className={`pill pill-${task.state}`}>{task.state}</span>
        <span className="muted">
          {done}/{total} steps
        </span>
        {isActive(task.state) ? (
          <button type="button" className="btn btn-small btn-danger-outline" onClick={() => void cancel()} disabled={busy} data-testid="agent-cancel">
            Cancel
          </button>
        ) : null}
      </div>
      {task.steps !== undefined && task.steps.length > 0 ? (
        <ol className="agent-steps">
          {task.steps.map((s) => (
            <li key={s.index} className={`agent-step agent-step-${s.state}`} data-state={s.state}>
              <span className="agent-step-icon" aria-label={s.state}>
                {STEP_ICON[s.state] ?? "·"}
              </span>
              <span className="agent-step-name">{s.name}</span>
              {s.detail ? <span className="agent-step-detail muted">{s.detail}</span> : null}
            </li>
          ))}
        </ol>
      ) : null}
      {columns.length > 0 ? (
        <div className="agent-ranking">
          <table className="table" data-testid="agent-ranking">
            <thead>
              <tr>
                <th>#</th>
                {columns.map((c) => (
                  <th key={c}>{c}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {ranking.map((row, i) => (
                <tr key={i}>
                  <td>{i + 1}</td>
                  {columns.map((c) => (
                    <td key={c}>{cellText(row[c])}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {task.summary ? (
        <div className="agent-summary">
          <MessageMarkdown content={task.summary} />
        </div>
      ) : null}
      <ReferenceChips references={task.references ?? []} datasets={datasets} onOpen={onOpen} />
      {task.error ? <div className="error-text">{task.error}</div> : null}
      {usage !== null ? <div className="muted agent-usage">{usage}</div> : null}
      <ProblemBox error={problem} testId="agent-problem" />
    </li>
  );
}

function TaskForm({ workflows }: { workflows: readonly WorkflowTemplate[] | null }) {
  const client = useQueryClient();
  const [form, setForm] = useState<AgentForm>(EMPTY_AGENT_FORM);
  const [problem, setProblem] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const set = <K extends keyof AgentForm>(key: K, value: AgentForm[K]): void => setForm((f) => ({ ...f, [key]: value }));
  const template = workflows?.find((w) => w.name === form.workflow) ?? null;
  const submit = async (): Promise<void> => {
    const checked = taskRequest(form);
    if ("problem" in checked) {
      setProblem(new Error(checked.problem));
      return;
    }
    setBusy(true);
    setProblem(null);
    try {
      await startTask(checked.request);
      void client.invalidateQueries({ queryKey: assistantKeys.tasks() });
    } catch (error) {
      setProblem(error);
    } finally {
      setBusy(false);
    }
  };
  const names: WorkflowName[] = workflows !== null && workflows.length > 0 ? workflows.map((w) => w.name) : ["backtest_universe", "research"];
  return (
    <form
      className="agent-form"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
      data-testid="agent-form"
    >
      <label className="agent-field">
        <span>Workflow</span>
        <select className="input" value={form.workflow} onChange={(e) => set("workflow", e.target.value as WorkflowName)} data-testid="agent-workflow">
          {names.map((name) => (
            <option key={name} value={name}>
              {workflows?.find((w) => w.name === name)?.title ?? WORKFLOW_TITLE[name] ?? name}
            </option>
          ))}
        </select>
      </label>
      {template !== null ? (
        <div className="muted agent-template">
          {template.description}
          {template.steps.length > 0 ? <div className="agent-template-steps">Steps: {template.steps.join(" → ")}</div> : null}
          {template.needs_model ? <div>Needs a model provider.</div> : null}
        </div>
      ) : null}
      {form.workflow === "research" ? (
        <label className="agent-field">
          <span>Goal</span>
          <textarea className="input agent-goal" rows={3} value={form.goal} onChange={(e) => set("goal", e.target.value)} maxLength={4000} data-testid="agent-goal" />
        </label>
      ) : (
        <div className="agent-grid">
          <label className="agent-field agent-wide">
            <span>Symbols (comma-separated)</span>
            <input className="input" value={form.symbols} onChange={(e) => set("symbols", e.target.value)} placeholder="AAPL, MSFT, NVDA" data-testid="agent-symbols" />
          </label>
          <label className="agent-field">
            <span>Timeframe</span>
            <select className="input" value={form.timeframe} onChange={(e) => set("timeframe", e.target.value as Timeframe)}>
              {TIMEFRAMES.map((tf) => (
                <option key={tf} value={tf}>
                  {tf}
                </option>
              ))}
            </select>
          </label>
          <label className="agent-field">
            <span>Rank by</span>
            <select className="input" value={form.rankBy} onChange={(e) => set("rankBy", e.target.value as MetricName)}>
              {RANK_METRICS.map((m) => (
                <option key={m} value={m}>
                  {m}
                </option>
              ))}
            </select>
          </label>
          <label className="agent-field">
            <span>Start</span>
            <input className="input" type="date" value={form.start} onChange={(e) => set("start", e.target.value)} />
          </label>
          <label className="agent-field">
            <span>End</span>
            <input className="input" type="date" value={form.end} onChange={(e) => set("end", e.target.value)} />
          </label>
          <label className="agent-field agent-wide">
            <span>Indicator</span>
            <input className="input" value={form.indicator} onChange={(e) => set("indicator", e.target.value)} placeholder="rsi(14)" />
          </label>
        </div>
      )}
      <div className="row">
        <button type="submit" className="btn btn-small btn-primary" disabled={busy} data-testid="agent-start">
          {busy ? "Starting…" : "Start task"}
        </button>
      </div>
      <ProblemBox error={problem} testId="agent-form-problem" />
    </form>
  );
}

interface Props {
  /** The events socket is open (tasks move with its events; else they are polled). */
  live: boolean;
  datasets: readonly Dataset[] | null;
  onOpen: (target: ChartTarget) => void;
}

export function AgentsPanel({ live, datasets, onOpen }: Props) {
  const { workflows, error: workflowsError } = useWorkflows(true);
  const { tasks, error } = useAgentTasks(live, true);
  return (
    <div className="agents" data-testid="agents-panel">
      <TaskForm workflows={workflows} />
      <ProblemBox error={workflowsError} testId="agent-workflows-problem" />
      <div className="chat-sessions-head">
        <span className="muted">Tasks</span>
      </div>
      <ProblemBox error={error} testId="agent-tasks-problem" />
      {tasks !== null && tasks.length === 0 ? <div className="muted pad-small">No tasks yet.</div> : null}
      {tasks !== null && tasks.length > 0 ? (
        <ul className="agent-tasks">
          {tasks.map((t) => (
            <TaskView key={t.task_id} task={t} datasets={datasets} onOpen={onOpen} />
          ))}
        </ul>
      ) : null}
    </div>
  );
}
