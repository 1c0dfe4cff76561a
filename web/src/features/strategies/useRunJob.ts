/**
 * The job of a sweep or walk-forward run while it is queued or running: its status
 * (`GET /api/v1/jobs/{id}`: combinations or folds done, of how many), kept current by the job's
 * `fetch_progress` events (which the run's socket passes to the query cache, `useRunEvents`) and
 * polled as a net — every second, every 5 s while the socket is open. Polls and events are merged
 * so that progress never goes back (`applyStatus`). Once the job has been cancelled or has failed,
 * the run is read again: it then says so (no `strategy_applied` event comes for a run cancelled
 * before it started).
 */
import { skipToken, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";

import { getJob } from "../../api/endpoints/jobs";
import { ApiError } from "../../api/problem";
import type { JobStatus, StrategyRun } from "../../api/types";
import { jobKeys } from "../../queries/keys/jobs";
import { strategyKeys } from "../../queries/keys/strategies";
import { applyStatus } from "../fetch/progress";
import { isFinished } from "./useRun";

export const JOB_POLL_MS = 1000;
export const JOB_POLL_WITH_EVENTS_MS = 5000;
const RETRY_MS = 3000;

/** `live`: the run's socket is open (its events carry the progress). */
export function useRunJob(run: StrategyRun | null, live: boolean): JobStatus | null {
  const client = useQueryClient();
  const followed = run !== null && run.kind !== "backtest" && !isFinished(run);
  const jobId = followed ? (run.job_id ?? null) : null;
  const runId = run?.run_id ?? null;
  const query = useQuery({
    queryKey: jobKeys.status(jobId),
    queryFn:
      jobId === null
        ? skipToken
        : async ({ signal }) => applyStatus(client.getQueryData<JobStatus>(jobKeys.status(jobId)) ?? null, await getJob(jobId, signal)),
    refetchInterval: (q) => {
      const { status, error, data } = q.state;
      if (status === "error") return error instanceof ApiError && error.status === 404 ? false : RETRY_MS;
      if (data !== undefined && data.state !== "queued" && data.state !== "running") return false;
      return live ? JOB_POLL_WITH_EVENTS_MS : JOB_POLL_MS;
    },
    refetchIntervalInBackground: true,
    retry: false,
  });
  const job = jobId !== null && query.data?.job_id === jobId ? query.data : null;
  const stopped = job !== null && (job.state === "cancelled" || job.state === "failed");
  useEffect(() => {
    if (stopped && runId !== null) void client.invalidateQueries({ queryKey: strategyKeys.run(runId), exact: true });
  }, [client, stopped, runId]);
  return job;
}
