/**
 * Follows `fetch_progress` events of one job over the API's WebSocket (`/api/v1/ws`; the
 * session cookie authenticates it) and hands them to the query cache (`serverEvents.ts`), which
 * merges them into the job's status. Reconnects after a drop while `jobId` is set; reports whether
 * the socket is open so the caller can poll less often meanwhile.
 */
import { messageObject } from "../../api/socket";
import type { FetchProgressEvent } from "../../api/types";
import { useEventSocket } from "../../queries/useEventSocket";

/** A `fetch_progress` event of job `jobId` from a socket message, or `null` for anything else. */
export function parseFetchProgress(data: unknown, jobId: string): FetchProgressEvent | null {
  const value = messageObject(data);
  if (value === null) return null;
  const event = value as Partial<FetchProgressEvent>;
  if (event.type !== "fetch_progress" || event.job_id !== jobId || !Array.isArray(event.symbols) || typeof event.state !== "string") {
    return null;
  }
  return event as FetchProgressEvent;
}

export function useJobEvents(jobId: string | null): boolean {
  return useEventSocket(jobId, (data) => (jobId === null ? null : parseFetchProgress(data, jobId)));
}
