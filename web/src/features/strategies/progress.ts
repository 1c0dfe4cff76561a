/**
 * A run in progress as its results view shows it (pure): how far a sweep or walk-forward has got
 * from its job's status ("37 of 100 combinations"), who may cancel it, and how a failure reads.
 */
import type { JobStatus, Me, RunKind, StrategyRun } from "../../api/types";
import { roleAtLeast } from "../auth/roles";

export interface RunProgress {
  done: number;
  total: number;
  /** `done / total`, 0 to 1. */
  fraction: number;
  /** "37 of 100 combinations", "3 of 5 folds". */
  text: string;
}

const STEPS: Partial<Record<RunKind, [string, string]>> = {
  sweep: ["combination", "combinations"],
  walk_forward: ["fold", "folds"],
};

/**
 * How far run `runId` has got, from its job's progress (its one entry is named by the run id);
 * `null` for a backtest (which reports no steps), or before the job has counted its steps.
 */
export function runProgress(kind: RunKind, runId: string, job: JobStatus | null): RunProgress | null {
  const steps = STEPS[kind];
  if (steps === undefined || job === null) return null;
  const entry = job.symbols.find((s) => s.symbol === runId);
  if (entry === undefined || entry.windows_total <= 0) return null;
  const total = entry.windows_total;
  const done = Math.min(Math.max(entry.windows_done, 0), total);
  const noun = total === 1 ? steps[0] : steps[1];
  return { done, total, fraction: done / total, text: `${done.toLocaleString("en-US")} of ${total.toLocaleString("en-US")} ${noun}` };
}

/** Whether `user` may cancel `run`'s job: an analyst their own runs, an admin anyone's, while it has not finished. */
export function mayCancel(run: Pick<StrategyRun, "status" | "job_id" | "owner">, user: Pick<Me, "username" | "role"> | null): boolean {
  if (user === null || run.job_id == null || (run.status !== "queued" && run.status !== "running")) return false;
  return user.role === "admin" || (roleAtLeast(user.role, "analyst") && user.username === run.owner);
}

/** The heading of a failed run's error: a cancel is not a failure of the strategy. */
export function failureTitle(error: string | null | undefined): string {
  return error != null && /\bcancel/i.test(error) ? "The run was cancelled" : "The run failed";
}
