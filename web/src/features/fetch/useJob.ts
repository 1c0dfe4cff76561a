/**
 * Follows a job: `fetch_progress` events over the WebSocket as they happen, and
 * `GET /api/v1/jobs/{id}` polls (every 500 ms, or every 5 s while the socket is open, as a safety
 * net for events missed during a reconnect) until the stored status says it has finished. Both are merged so that
 * progress never goes backwards (see `progress.ts`): the job's status is a query, polls are its refetches, and the
 * query cache merges events into it (`serverEvents.ts`). Events published before the socket opened never reach it
 * (a worker may start the job meanwhile), so the status is also read once each time the socket opens. An event
 * carries no error or message: once one says the job has finished, the stored status (which has them) is read at
 * once rather than at the next poll.
 *
 * A cancelled job is stored as cancelled at once, while its worker may still be stopping (within about a
 * second); the worker then records what it kept (its tables, bars and message). So after a cancel the
 * status is polled until that record arrives — until the message changes — or `SETTLE_POLLS` polls.
 */
import { skipToken, useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useRef } from "react";

import { getJob } from "../../api/endpoints/jobs";
import { ApiError } from "../../api/problem";
import type { JobStatus } from "../../api/types";
import { jobKeys } from "../../queries/keys/jobs";
import { applyStatus, isFinished } from "./progress";
import { useJobEvents } from "./useJobEvents";

export const POLL_MS = 500;
export const POLL_WITH_EVENTS_MS = 5000;
const RETRY_MS = 2000;
/** Polls, `POLL_MS` apart, waiting for a cancelled job's worker to record how it stopped. */
export const SETTLE_POLLS = 10;

export interface JobState {
  job: JobStatus | null;
  error: unknown;
  /** Whether live events arrive (the socket is open). */
  live: boolean;
  /** Takes a status the server just returned (e.g. the answer of a cancel). */
  update: (status: JobStatus) => void;
}

/** What the last stored status asks of the next poll: keep following, wait for a cancel to settle, or stop. */
type NextPoll = "follow" | "settle" | "none";

/** After a cancel: the job's message the cancel answered, and the polls left to see it change. */
interface Stopping {
  jobId: string;
  message: string | null;
  polls: number;
}

export function useJob(jobId: string | null): JobState {
  const client = useQueryClient();
  const stopping = useRef<Stopping | null>(null);
  // Set by each poll from the stored status, which has the last word (events alone never stop the polls).
  const nextPoll = useRef<NextPoll>("follow");
  const liveRef = useRef(false);

  const query = useQuery({
    queryKey: jobKeys.status(jobId),
    queryFn:
      jobId === null
        ? skipToken
        : async ({ signal }) => {
            const status = await getJob(jobId, signal);
            const wait = stopping.current?.jobId === jobId ? stopping.current : null;
            const settling = wait !== null && status.state === "cancelled" && (status.message ?? null) === wait.message && wait.polls > 0;
            if (wait !== null) wait.polls -= 1;
            nextPoll.current = !isFinished(status.state) ? "follow" : settling ? "settle" : "none";
            return applyStatus(client.getQueryData<JobStatus>(jobKeys.status(jobId)) ?? null, status);
          },
    refetchInterval: (current) => {
      const { status, error } = current.state;
      // An unknown job stays unknown; anything else may be a blip worth retrying.
      if (status === "error") return error instanceof ApiError && error.status === 404 ? false : RETRY_MS;
      if (nextPoll.current === "follow") return liveRef.current ? POLL_WITH_EVENTS_MS : POLL_MS;
      return nextPoll.current === "settle" ? POLL_MS : false;
    },
    // A fetch runs on while the tab is hidden; so does following it.
    refetchIntervalInBackground: true,
    // The polls retry on their own (`RETRY_MS`), showing the error meanwhile.
    retry: false,
  });

  const job = query.data ?? null;
  const finished = job !== null && job.job_id === jobId && isFinished(job.state);
  const live = useJobEvents(finished ? null : jobId);
  useEffect(() => {
    liveRef.current = live;
  }, [live]);

  // What happened before the socket was listening: read it now, after which events carry the rest.
  useEffect(() => {
    if (live && jobId !== null) void client.refetchQueries({ queryKey: jobKeys.status(jobId), exact: true, type: "active" });
  }, [client, live, jobId]);

  const update = useCallback(
    (status: JobStatus) => {
      const key = jobKeys.status(status.job_id);
      client.setQueryData<JobStatus>(key, (current) => applyStatus(current ?? null, status));
      if (status.state === "cancelled") {
        stopping.current = { jobId: status.job_id, message: status.message ?? null, polls: SETTLE_POLLS };
        void client.refetchQueries({ queryKey: key, exact: true, type: "active" });
      }
    },
    [client],
  );
  return { job, error: query.error, live, update };
}
