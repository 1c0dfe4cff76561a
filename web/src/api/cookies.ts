/**
 * The readable session cookie: the server keeps the session itself in HttpOnly cookies, and sets
 * `k2q_csrf` (readable) beside them, whose value unsafe requests echo in `X-CSRF-Token`.
 */

export const CSRF_COOKIE = "k2q_csrf";
export const CSRF_HEADER = "X-CSRF-Token";

/** One cookie's value from a `document.cookie` string; `null` when absent. */
export function readCookie(name: string, cookies: string = typeof document !== "undefined" ? document.cookie : ""): string | null {
  for (const part of cookies.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    const raw = part.slice(eq + 1).trim().replace(/^"(.*)"$/, "$1");
    try {
      return decodeURIComponent(raw);
    } catch {
      return raw;
    }
  }
  return null;
}

/** The CSRF token for unsafe requests: the `k2q_csrf` cookie, read fresh each time (a refresh replaces it). */
export function csrfToken(): string | null {
  const value = readCookie(CSRF_COOKIE);
  return value !== null && value !== "" ? value : null;
}

/** Whether this browser may hold a session: without the CSRF cookie it certainly does not. */
export function mayBeSignedIn(): boolean {
  return csrfToken() !== null;
}
