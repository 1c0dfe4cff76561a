/** Cancels a running fetch job (`POST /api/v1/jobs/{id}/cancel`); the job's own state then says when it stopped. */
import { useState } from "react";

import { cancelJob } from "../../api/endpoints/jobs";
import { ApiError } from "../../api/problem";
import type { JobStatus } from "../../api/types";
import { ProblemBox } from "../../ui/ProblemBox";
import { canCancel } from "./progress";

interface Props {
  job: JobStatus;
  /** Receives the status the server answered. */
  onUpdate: (status: JobStatus) => void;
}

export function CancelJob({ job, onUpdate }: Props) {
  const [requested, setRequested] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  if (!canCancel(job)) return null;

  const cancel = async (): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      onUpdate(await cancelJob(job.job_id));
      setRequested(true);
    } catch (e) {
      // 409: it finished meanwhile; the next poll shows how. Anything else is worth showing.
      if (!(e instanceof ApiError && e.status === 409)) setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="job-cancel">
      <button className="btn btn-danger-outline" onClick={() => void cancel()} disabled={busy || requested} data-testid="job-cancel">
        {requested ? "Cancelling…" : busy ? "Cancelling…" : "Cancel fetch"}
      </button>
      {requested ? <span className="muted">Stopping after the windows in flight; finished windows stay stored.</span> : null}
      <ProblemBox error={error} testId="cancel-problem" />
    </div>
  );
}
