/** Words for a failed sign-in. */
import { ApiError, errorMessage } from "../../api/problem";

export interface LoginFailure {
  message: string;
  /** Seconds until another attempt is allowed (429 with Retry-After), else null. */
  retryAfterS: number | null;
}

export function describeLoginError(error: unknown, viaToken = false): LoginFailure {
  if (error instanceof ApiError) {
    if (error.status === 401) {
      return {
        message: viaToken ? "This sign-in link is invalid, expired or already used. Sign in with your password." : "Wrong username or password.",
        retryAfterS: null,
      };
    }
    if (error.status === 429) {
      const s = error.retryAfterS;
      return { message: s !== null ? `Too many attempts, try again in ${s} s.` : "Too many attempts, try again later.", retryAfterS: s };
    }
    if (error.status === 0) return { message: `Cannot reach the server: ${error.detail ?? error.title}`, retryAfterS: null };
    return { message: error.detail !== null && error.detail !== "" ? error.detail : error.title, retryAfterS: null };
  }
  return { message: errorMessage(error), retryAfterS: null };
}

/** The 429 message with the seconds left, counted down. */
export function throttleMessage(secondsLeft: number): string {
  return `Too many attempts, try again in ${Math.max(0, Math.ceil(secondsLeft))} s.`;
}
