/**
 * Follows `strategy_applied` events of one run over the API's WebSocket (`/api/v1/ws`; the server
 * sends a run's events to its owner and the admins), and the `fetch_progress` events of its job while
 * it runs (a sweep's or walk-forward's steps done), and hands them to the query cache (`serverEvents.ts`),
 * which reads the run again or merges the progress into the job's status. The job's last event is
 * left out: the cache would take it for a fetch's end (and read the datasets again), and the run's own
 * event (or, for a run cancelled before it started, the job's poll) says how it ended. Reconnects after a drop
 * while `runId` is set; reports whether the socket is open so the caller can poll less often meanwhile.
 */
import type { StrategyApplied } from "../../api/events";
import { messageObject } from "../../api/socket";
import type { FetchProgressEvent } from "../../api/types";
import { useEventSocket } from "../../queries/useEventSocket";
import { parseFetchProgress } from "../fetch/useJobEvents";

/** A `strategy_applied` event of run `runId` from a socket message, or `null` for anything else. */
export function parseStrategyApplied(data: unknown, runId: string): StrategyApplied | null {
  const value = messageObject(data);
  if (value === null) return null;
  const event = value as Partial<StrategyApplied>;
  if (event.type !== "strategy_applied" || event.run_id !== runId || typeof event.status !== "string" || typeof event.strategy_id !== "number") return null;
  return event as StrategyApplied;
}

/** An event of run `runId`, or a progress event of its job `jobId` while it runs, from a socket message; `null` for anything else. */
export function parseRunEvent(data: unknown, runId: string, jobId: string | null): StrategyApplied | FetchProgressEvent | null {
  const applied = parseStrategyApplied(data, runId);
  if (applied !== null || jobId === null) return applied;
  const progress = parseFetchProgress(data, jobId);
  return progress !== null && (progress.state === "queued" || progress.state === "running") ? progress : null;
}

/** `jobId`: the run's job, once known (it changes nothing of the socket: it is read as events arrive). */
export function useRunEvents(runId: string | null, jobId: string | null = null): boolean {
  return useEventSocket(runId, (data) => (runId === null ? null : parseRunEvent(data, runId, jobId)));
}
