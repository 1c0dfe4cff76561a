/** `/api/v1/jobs`: a job's stored status, and cancelling it. */
import { API_PREFIX, requestJson } from "../http";
import type { JobStatus } from "../types";

export function getJob(jobId: string, signal?: AbortSignal): Promise<JobStatus> {
  return requestJson<JobStatus>(`${API_PREFIX}/jobs/${encodeURIComponent(jobId)}`, { signal });
}

/** Asks the server to stop a fetch job: 202 with its status (a 409 problem when it has already finished). */
export function cancelJob(jobId: string): Promise<JobStatus> {
  return requestJson<JobStatus>(`${API_PREFIX}/jobs/${encodeURIComponent(jobId)}/cancel`, { method: "POST" });
}
