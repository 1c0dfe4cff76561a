/**
 * A fetch job's progress as the page shows it (pure): polled statuses and `fetch_progress`
 * events merged into one view, errors put into words, and whether the job can be cancelled.
 */
import type { FetchProgressEvent, JobState, JobStatus, SymbolProgress } from "../../api/types";

const STATE_RANK: Record<JobState, number> = { queued: 0, running: 1, complete: 2, failed: 2, cancelled: 2 };

/** Whether a job in `state` has finished. */
export function isFinished(state: JobState): boolean {
  return STATE_RANK[state] === 2;
}

/**
 * The later of two states: a finished state beats a running one, which beats queued. Between
 * two finished states the newer report wins.
 */
export function laterState(current: JobState, next: JobState): JobState {
  return STATE_RANK[next] >= STATE_RANK[current] ? next : current;
}

function mergeSymbol(current: SymbolProgress | undefined, next: SymbolProgress): SymbolProgress {
  if (current === undefined) return next;
  // Reports may arrive out of order (a poll answered after a newer event): counts only grow.
  return {
    symbol: next.symbol,
    windows_done: Math.max(current.windows_done, next.windows_done),
    windows_total: Math.max(current.windows_total, next.windows_total),
    windows_failed: Math.max(current.windows_failed, next.windows_failed),
    bars: Math.max(current.bars, next.bars),
    error: next.error ?? current.error ?? null,
    table: next.table ?? current.table ?? null,
  };
}

/** Merges symbols by name, keeping `current`'s order and appending new ones. */
export function mergeSymbols(current: readonly SymbolProgress[], next: readonly SymbolProgress[]): SymbolProgress[] {
  const incoming = new Map(next.map((s) => [s.symbol, s]));
  const merged = current.map((s) => {
    const update = incoming.get(s.symbol);
    incoming.delete(s.symbol);
    return update === undefined ? s : mergeSymbol(s, update);
  });
  return [...merged, ...incoming.values()];
}

/**
 * The job after a `fetch_progress` event. Events of other jobs, and events before the first
 * status arrived (which would lack the job's kind and times), leave it as it is.
 */
export function applyEvent(job: JobStatus | null, event: FetchProgressEvent): JobStatus | null {
  if (job === null || event.job_id !== job.job_id) return job;
  return { ...job, state: laterState(job.state, event.state), symbols: mergeSymbols(job.symbols, event.symbols) };
}

/** The job after a polled status (or the answer of a cancel): merged like an event. */
export function applyStatus(job: JobStatus | null, status: JobStatus): JobStatus {
  if (job === null || job.job_id !== status.job_id) return status;
  return { ...status, state: laterState(job.state, status.state), symbols: mergeSymbols(job.symbols, status.symbols) };
}

/** Whether a `Cancel` button makes sense: the job has not finished. */
export function canCancel(job: JobStatus | null): boolean {
  return job !== null && !isFinished(job.state);
}

interface Explained {
  /** What happened, in words. */
  words: string;
  /** What the server said, when the words are ours. */
  detail: string | null;
}

const EXPLANATIONS: readonly [RegExp, string][] = [
  [/cancel/i, "Stopped: the job was cancelled before this symbol finished."],
  [/\b401\b|unknown api key|api key|unauthori[sz]ed/i, "Polygon refused the API key. Check POLYGON_API_KEY on the server."],
  [/\b403\b|not_authorized|not entitled|entitle/i, "Your Polygon plan does not include this data (timespan or history too far back)."],
  [/\b429\b|rate.?limit|too many requests/i, "Polygon kept rate-limiting the requests, even after waiting and retrying."],
  [/\b5\d\d\b|unavailable|timed? ?out|timeout|connection/i, "Polygon could not be reached or kept failing; the finished windows are kept — fetch again to resume."],
  [/stored from|delete it before/i, "These bars are already stored from another source: delete that dataset first, or fetch from the same source."],
  [/unknown ticker|no bars|not found/i, "No bars: the ticker may not exist or did not trade in this range."],
];

/**
 * A symbol's error in words, keeping the server's message as the detail.
 *
 * @example explainError("Polygon answered 429 after 6 tries").words // "Polygon kept rate-limiting …"
 */
export function explainError(message: string): Explained {
  for (const [pattern, words] of EXPLANATIONS) {
    if (pattern.test(message)) return { words, detail: message };
  }
  return { words: message, detail: null };
}
