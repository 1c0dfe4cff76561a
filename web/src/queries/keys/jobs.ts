/** Query keys of jobs (`/jobs/{id}`). */
export const jobKeys = {
  all: ["jobs"] as const,
  /** A job's status; `jobId` `null`: no job followed (a query that never runs). */
  status: (jobId: string | null) => [...jobKeys.all, "status", jobId] as const,
};
