/**
 * When a failed query is asked again: after a network failure or a server error (5xx), which may
 * pass, but never after a problem answer (4xx), which says something about the request itself.
 */
import { ApiError } from "../api/problem";

/** Retries after the first failure (so at most three attempts in all). */
export const MAX_RETRIES = 2;
/** The longest pause before a retry, whatever `Retry-After` asks for. */
export const MAX_RETRY_DELAY_MS = 30_000;

/** Whether `error` may pass on its own: no answer at all (status 0) or a server error. */
export function isTransient(error: unknown): boolean {
  return error instanceof ApiError && (error.status === 0 || error.status >= 500);
}

/** TanStack Query's `retry`: `failureCount` is the number of failures before this one. */
export function shouldRetry(failureCount: number, error: unknown): boolean {
  return failureCount < MAX_RETRIES && isTransient(error);
}

/** TanStack Query's `retryDelay`: the server's `Retry-After` when it sent one, else 1 s, 2 s, 4 s … */
export function retryDelay(failureCount: number, error: unknown): number {
  const retryAfterS = error instanceof ApiError ? error.retryAfterS : null;
  const delay = retryAfterS !== null ? retryAfterS * 1000 : 1000 * 2 ** failureCount;
  return Math.min(delay, MAX_RETRY_DELAY_MS);
}
