/** Polls `GET /api/v1/jobs/{id}` every 500 ms while the job is queued or running. */
import { useEffect, useState } from "react";

import { getJob } from "../../api/client";
import { ApiError, isAbortError } from "../../api/problem";
import type { JobStatus } from "../../api/types";
import { isTerminal } from "./form";

export const POLL_MS = 500;
const RETRY_MS = 2000;

export function useJob(jobId: string | null): { job: JobStatus | null; error: unknown } {
  const [job, setJob] = useState<JobStatus | null>(null);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    setJob(null);
    setError(null);
    if (jobId === null) return undefined;
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async (): Promise<void> => {
      try {
        const status = await getJob(jobId, controller.signal);
        setJob(status);
        setError(null);
        if (!isTerminal(status.state)) timer = setTimeout(() => void tick(), POLL_MS);
      } catch (e) {
        if (controller.signal.aborted || isAbortError(e)) return;
        setError(e);
        // An unknown job stays unknown; anything else may be a blip worth retrying.
        if (!(e instanceof ApiError && e.status === 404)) timer = setTimeout(() => void tick(), RETRY_MS);
      }
    };
    void tick();
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [jobId]);

  return { job, error };
}
