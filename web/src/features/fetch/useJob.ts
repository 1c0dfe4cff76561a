/**
 * Follows a job: `fetch_progress` events over the WebSocket as they happen, and
 * `GET /api/v1/jobs/{id}` polls (every 500 ms, or every 5 s while the socket is open, as a safety
 * net for events missed during a reconnect) until the stored status says it has finished. Both are merged so that
 * progress never goes backwards (see `progress.ts`). Events published before the socket opened never reach it (a
 * worker may start the job meanwhile), so the status is also read once each time the socket opens. An event
 * carries no error or message: once one says the job has finished, the stored status (which has them) is read at
 * once rather than at the next poll.
 *
 * A cancelled job is stored as cancelled at once, while its worker may still be stopping (within about a
 * second); the worker then records what it kept (its tables, bars and message). So after a cancel the
 * status is polled until that record arrives — until the message changes — or `SETTLE_POLLS` polls.
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

export function useJob(jobId: string | null): JobState {
  const [job, setJob] = useState<JobStatus | null>(null);
  const [error, setError] = useState<unknown>(null);
  /** After a cancel: the job's message the cancel answered, and the polls left to see it change. */
  const stopping = useRef<{ jobId: string; message: string | null; polls: number } | null>(null);
  const finished = job !== null && job.job_id === jobId && isFinished(job.state);

  /** Polls now (set while a job is followed); takes the id of the job an event was about. */
  const pollNow = useRef<((eventJobId: string) => void) | null>(null);
  const onEvent = useCallback((event: FetchProgressEvent) => {
    setJob((current) => applyEvent(current, event));
    if (isFinished(event.state)) pollNow.current?.(event.job_id);
  }, []);
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
    // One poll chain, however many polls were asked for at once: a new one replaces any pending.
    const schedule = (ms: number): void => {
      clearTimeout(timer);
      timer = setTimeout(() => void tick(), ms);
    };
    const tick = async (): Promise<void> => {
      try {
        const status = await getJob(jobId, controller.signal);
        setJob((current) => applyStatus(current, status));
        setError(null);
        // The stored status has the last word: poll until it says the job has finished (and, after a
        // cancel, until the worker has recorded how it stopped).
        const wait = stopping.current?.jobId === jobId ? stopping.current : null;
        const settling = wait !== null && status.state === "cancelled" && (status.message ?? null) === wait.message && wait.polls > 0;
        if (wait !== null) wait.polls -= 1;
        if (!isFinished(status.state)) schedule(liveRef.current ? POLL_WITH_EVENTS_MS : POLL_MS);
        else if (settling) schedule(POLL_MS);
        else clearTimeout(timer); // finished and recorded: no poll another tick left pending
      } catch (e) {
        if (controller.signal.aborted || isAbortError(e)) return;
        setError(e);
        // An unknown job stays unknown; anything else may be a blip worth retrying.
        if (!(e instanceof ApiError && e.status === 404)) schedule(RETRY_MS);
      }
    };
    pollNow.current = (eventJobId) => {
      if (eventJobId !== jobId || controller.signal.aborted) return;
      clearTimeout(timer);
      void tick();
    };
    void tick();
    return () => {
      pollNow.current = null;
      clearTimeout(timer);
      controller.abort();
    };
  }, [jobId]);

  // What happened before the socket was listening: read it now, after which events carry the rest.
  useEffect(() => {
    if (live && jobId !== null) pollNow.current?.(jobId);
  }, [live, jobId]);

  const update = useCallback((status: JobStatus) => {
    setJob((current) => applyStatus(current, status));
    if (status.state === "cancelled") {
      stopping.current = { jobId: status.job_id, message: status.message ?? null, polls: SETTLE_POLLS };
      pollNow.current?.(status.job_id);
    }
  }, []);
  return { job, error, live, update };
}
