/**
 * Follows the job of a projection or an evaluation while it runs: its status
 * (`GET /api/v1/jobs/{id}`), polled every second (every 5 s while the socket is open), and its
 * `fetch_progress` events over the API's WebSocket, merged into the status so that progress never
 * goes back (`applyStatus`, `serverEvents.ts`). Only the events of a running job go to the query
 * cache: the cache would take a job's last event for a fetch's end and read the datasets again
 * (which a live chart does not want); the poll says how it ended. `onFinished` runs once it has.
 */
import { skipToken, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef } from "react";

import { getJob } from "../../api/endpoints/jobs";
import { ApiError } from "../../api/problem";
import type { JobStatus } from "../../api/types";
import { jobKeys } from "../../queries/keys/jobs";
import { useEventSocket } from "../../queries/useEventSocket";
import { applyStatus, isFinished } from "../fetch/progress";
import { parseFetchProgress } from "../fetch/useJobEvents";

export const JOB_POLL_MS = 1000;
export const JOB_POLL_WITH_EVENTS_MS = 5000;
const RETRY_MS = 3000;

/** Whether the socket is open, passing the running job's progress events to the query cache. */
function useRunningJobEvents(jobId: string | null): boolean {
  return useEventSocket(jobId, (data) => {
    const event = jobId === null ? null : parseFetchProgress(data, jobId);
    return event !== null && !isFinished(event.state) ? event : null;
  });
}

export interface FollowedJob {
  job: JobStatus | null;
  error: unknown;
  finished: boolean;
}

export function useJobFollow(jobId: string | null, onFinished: () => void): FollowedJob {
  const client = useQueryClient();
  const liveRef = useRef(false);
  const query = useQuery({
    queryKey: jobKeys.status(jobId),
    queryFn:
      jobId === null
        ? skipToken
        : async ({ signal }) => applyStatus(client.getQueryData<JobStatus>(jobKeys.status(jobId)) ?? null, await getJob(jobId, signal)),
    refetchInterval: (q) => {
      const { status, error, data } = q.state;
      if (status === "error") return error instanceof ApiError && error.status === 404 ? false : RETRY_MS;
      if (data !== undefined && isFinished(data.state)) return false;
      return liveRef.current ? JOB_POLL_WITH_EVENTS_MS : JOB_POLL_MS;
    },
    refetchIntervalInBackground: true,
    retry: false,
  });
  const job = jobId !== null && query.data?.job_id === jobId ? query.data : null;
  const finished = job !== null && isFinished(job.state);
  const live = useRunningJobEvents(jobId !== null && !finished ? jobId : null);
  useEffect(() => {
    liveRef.current = live;
  }, [live]);
  const finishedRef = useRef(onFinished);
  useEffect(() => {
    finishedRef.current = onFinished;
  });
  useEffect(() => {
    if (finished) finishedRef.current();
  }, [finished, jobId]);
  return { job, error: query.error, finished };
}
