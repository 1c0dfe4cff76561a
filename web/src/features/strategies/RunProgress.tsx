/**
 * A queued or running run: waiting for a worker, or how far a sweep or walk-forward has got
 * ("37 of 100 combinations", with a bar), and a Cancel button for its owner (an analyst) or an admin,
 * which cancels the run's job (`POST /api/v1/jobs/{id}/cancel`). The run then reads as failed,
 * "cancelled", and the results view shows so.
 */
import { useMutation, useQueryClient } from "@tanstack/react-query";

import { cancelJob } from "../../api/endpoints/jobs";
import { ApiError } from "../../api/problem";
import type { JobStatus, StrategyRun } from "../../api/types";
import { jobKeys } from "../../queries/keys/jobs";
import { strategyKeys } from "../../queries/keys/strategies";
import { ProblemBox } from "../../ui/ProblemBox";
import { useAuth } from "../auth/context";
import { applyStatus } from "../fetch/progress";
import { mayCancel, runProgress } from "./progress";
import { useRunJob } from "./useRunJob";

interface Props {
  run: StrategyRun;
  /** Whether the run's events arrive live (otherwise it and its job are polled). */
  live: boolean;
}

export function RunProgress({ run, live }: Props) {
  const client = useQueryClient();
  const { user } = useAuth();
  const job = useRunJob(run, live);
  const progress = runProgress(run.kind, run.run_id, job);
  const jobId = run.job_id ?? null;
  const cancel = useMutation({
    mutationFn: (id: string) => cancelJob(id),
    onSuccess: (status: JobStatus) => {
      client.setQueryData<JobStatus>(jobKeys.status(status.job_id), (current) => applyStatus(current ?? null, status));
    },
    // Cancelled, or (409) finished meanwhile: either way the run has more to say.
    onSettled: () => client.invalidateQueries({ queryKey: strategyKeys.run(run.run_id), exact: true }),
  });
  const refused = cancel.error instanceof ApiError && cancel.error.status === 409 ? null : cancel.error;

  return (
    <div className="run-progress pad-small" data-testid="run-progress" data-done={progress?.done ?? ""} data-total={progress?.total ?? ""}>
      <div className="run-progress-line">
        <span className="muted">{run.status === "queued" ? "Waiting for a worker…" : progress !== null ? "Running:" : "Running…"}</span>
        {progress !== null ? (
          <>
            <div className="bar run-progress-bar" role="progressbar" aria-valuemin={0} aria-valuemax={progress.total} aria-valuenow={progress.done} aria-valuetext={progress.text}>
              <div className="bar-fill" style={{ width: `${(progress.fraction * 100).toFixed(1)}%` }} />
            </div>
            <span className="nowrap" data-testid="run-progress-text">
              {progress.text}
            </span>
          </>
        ) : null}
        {jobId !== null && mayCancel(run, user) ? (
          <button type="button" className="btn btn-small btn-danger-outline" onClick={() => cancel.mutate(jobId)} disabled={cancel.isPending || cancel.isSuccess} data-testid="run-cancel">
            {cancel.isPending || cancel.isSuccess ? "Cancelling…" : "Cancel"}
          </button>
        ) : null}
      </div>
      <ProblemBox error={refused} testId="run-cancel-problem" />
    </div>
  );
}
