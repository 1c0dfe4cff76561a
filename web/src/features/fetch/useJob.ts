/**
 * Follows a job: `fetch_progress` events over the WebSocket as they happen, and
 * `GET /api/v1/jobs/{id}` polls (every 500 ms, or every 5 s while the socket is open, as a safety
 * net for events missed during a reconnect) until the stored status says it has finished. Both are merged so that
 * progress never goes backwards (see `progress.ts`).
 */
import { useCallback, useEffect, useRef, useState } from "react";

import { getJob } from "../../api/client";
import { ApiError, isAbortError } from "../../api/problem";
import type { FetchProgressEvent, JobStatus } from "../../api/types";
import { applyEvent, applyStatus, isFinished } from "./progress";
import { useJobEvents } from "./useJobEvents";

export const POLL_MS = 500;
export const POLL_WITH_EVENTS_MS = 5000;
const RETRY_MS = 2000;

export interface JobState {
  job: JobStatus | null;
  error: unknown;
  /** Whether live events arrive (the socket is open). */
  live: boolean;
  /** Takes a status the server just returned (e.g. the answer of a cancel). */
  update: (status: JobStatus) => void;
}

export function useJob(jobId: string | null): JobState {
  const [job, setJob] = useState<JobStatus | null>(null);
  const [error, setError] = useState<unknown>(null);
  const finished = job !== null && job.job_id === jobId && isFinished(job.state);

  const onEvent = useCallback((event: FetchProgressEvent) => setJob((current) => applyEvent(current, event)), []);
  const live = useJobEvents(finished ? null : jobId, onEvent);
  const liveRef = useRef(live);
  useEffect(() => {
    liveRef.current = live;
  }, [live]);

  useEffect(() => {
    setJob(null);
    setError(null);
    if (jobId === null) return undefined;
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async (): Promise<void> => {
      try {
        const status = await getJob(jobId, controller.signal);
        setJob((current) => applyStatus(current, status));
        setError(null);
        // The stored status has the last word: poll until it says the job has finished.
        if (!isFinished(status.state)) timer = setTimeout(() => void tick(), liveRef.current ? POLL_WITH_EVENTS_MS : POLL_MS);
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

  const update = useCallback((status: JobStatus) => setJob((current) => applyStatus(current, status)), []);
  return { job, error, live, update };
}
