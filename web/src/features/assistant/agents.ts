/** Agent tasks in words and forms (pure): the start form's request, a ranking's columns, usage. */
import type { MetricName, Timeframe } from "../../api/types";
import type { AgentTask, AgentTaskRequest, Usage, WorkflowName } from "./types";

/**
 * The metrics a universe may be ranked by (`MetricName` of `schemas/strategies.py`); the Strategies
 * workbench has the same list, not imported here so that the two lazy chunks share no module.
 */
export const RANK_METRICS = [
  "sharpe",
  "sortino",
  "total_return_pct",
  "cagr_pct",
  "max_drawdown_pct",
  "win_rate_pct",
  "profit_factor",
  "expectancy_pct",
  "volatility_pct",
  "exposure_pct",
  "num_trades",
  "final_equity",
  "buy_hold_return_pct",
  "max_drawdown_duration_bars",
] as const satisfies readonly MetricName[];

export interface AgentForm {
  workflow: WorkflowName;
  /** Comma- (or space-) separated. */
  symbols: string;
  timeframe: Timeframe;
  /** `YYYY-MM-DD` or empty. */
  start: string;
  end: string;
  indicator: string;
  rankBy: MetricName;
  goal: string;
}

export const EMPTY_AGENT_FORM: AgentForm = {
  workflow: "backtest_universe",
  symbols: "",
  timeframe: "1d",
  start: "",
  end: "",
  indicator: "rsi(14)",
  rankBy: "sharpe",
  goal: "",
};

const SYMBOL = /^[A-Z0-9][A-Z0-9.:-]{0,19}$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
export const MAX_SYMBOLS = 50;

/** The symbols of the form, upper case, each once, in order. */
export function formSymbols(text: string): string[] {
  const out: string[] = [];
  for (const part of text.split(/[\s,;]+/)) {
    const symbol = part.trim().toUpperCase();
    if (symbol !== "" && !out.includes(symbol)) out.push(symbol);
  }
  return out;
}

/** The request the form asks for, or what is wrong with it. */
export function taskRequest(form: AgentForm): { request: AgentTaskRequest } | { problem: string } {
  if (form.workflow === "research") {
    const goal = form.goal.trim();
    if (goal === "") return { problem: "Say what to research." };
    if (goal.length > 4000) return { problem: "The goal is longer than 4,000 characters." };
    return { request: { params: { workflow: "research", goal } } };
  }
  const symbols = formSymbols(form.symbols);
  if (symbols.length === 0) return { problem: "Name at least one symbol." };
  if (symbols.length > MAX_SYMBOLS) return { problem: `At most ${MAX_SYMBOLS} symbols.` };
  const bad = symbols.find((s) => !SYMBOL.test(s));
  if (bad !== undefined) return { problem: `“${bad}” is not a symbol.` };
  for (const [name, value] of [
    ["start", form.start],
    ["end", form.end],
  ] as const) {
    if (value !== "" && !DATE.test(value)) return { problem: `The ${name} is not a date (YYYY-MM-DD).` };
  }
  if (form.start !== "" && form.end !== "" && form.start > form.end) return { problem: "The start is after the end." };
  const indicator = form.indicator.trim();
  return {
    request: {
      params: {
        workflow: "backtest_universe",
        symbols,
        timeframe: form.timeframe,
        ...(form.start !== "" ? { start: form.start } : {}),
        ...(form.end !== "" ? { end: form.end } : {}),
        ...(indicator !== "" ? { indicator } : {}),
        rank_by: form.rankBy,
      },
    },
  };
}

/** The columns of a ranking: `symbol` first, then the metric ranked by, then the others (at most `max`). */
export function rankingColumns(rows: readonly Record<string, unknown>[], rankBy: string | null, max = 6): string[] {
  const keys: string[] = [];
  for (const row of rows) for (const key of Object.keys(row)) if (!keys.includes(key)) keys.push(key);
  const scalar = keys.filter((k) => rows.some((r) => typeof r[k] === "number" || typeof r[k] === "string"));
  const first = ["symbol", ...(rankBy !== null ? [rankBy] : [])].filter((k) => scalar.includes(k));
  return [...first, ...scalar.filter((k) => !first.includes(k))].slice(0, max);
}

export function cellText(value: unknown): string {
  if (typeof value === "number") return Number.isInteger(value) ? value.toLocaleString("en-US") : value.toFixed(2);
  if (typeof value === "string") return value;
  if (value === null || value === undefined) return "—";
  return JSON.stringify(value);
}

/** Tokens and cost of a task, in words. */
export function usageLine(usage: readonly Usage[], cost: number | null | undefined): string | null {
  if (usage.length === 0 && (cost === null || cost === undefined)) return null;
  const parts = usage.map((u) => `${u.model}: ${(u.input_tokens + u.output_tokens).toLocaleString("en-US")} tokens`);
  if (cost !== null && cost !== undefined) parts.push(`$${cost.toFixed(4)}`);
  return parts.join(" · ");
}

/** How far a task has got: steps finished (complete, failed or skipped) of those it has. */
export function stepsDone(task: AgentTask): [number, number] {
  const steps = task.steps ?? [];
  return [steps.filter((s) => s.state === "complete" || s.state === "failed" || s.state === "skipped").length, steps.length];
}
