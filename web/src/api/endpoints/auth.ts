/** `/api/v1/auth`: signing in and out, and who this browser is. */
import { AUTH_PREFIX, requestJson, requestVoid, sessionStarted } from "../http";
import { ApiError } from "../problem";
import type { LoginRequest, Me, Session } from "../types";

/** The auth endpoints answer for themselves: a 401 is their answer, not a session to renew. */
const AUTH_CALL = { refresh: false, reportLost: false } as const;

export async function login(request: LoginRequest, signal?: AbortSignal): Promise<Session> {
  const session = await requestJson<Session>(`${AUTH_PREFIX}/login`, { ...AUTH_CALL, method: "POST", body: request, signal });
  sessionStarted(session);
  return session;
}

/** Signs in with the one-time token of a `k2q up` link. */
export async function tokenLogin(token: string, signal?: AbortSignal): Promise<Session> {
  const session = await requestJson<Session>(`${AUTH_PREFIX}/token-login`, { ...AUTH_CALL, method: "POST", body: { token }, signal });
  sessionStarted(session);
  return session;
}

/**
 * Ends the session. Logout needs a live access token, so an expired one is refreshed first (else
 * the refresh and CSRF cookies would outlive the "logout"); a session already gone counts as success.
 */
export async function logout(): Promise<void> {
  try {
    await requestVoid(`${AUTH_PREFIX}/logout`, { method: "POST", reportLost: false });
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) throw error;
  }
}

/** Who this browser is; a 401 (after one refresh attempt) means anonymous, and is not reported as a lost session. */
export function getMe(signal?: AbortSignal): Promise<Me> {
  return requestJson<Me>(`${AUTH_PREFIX}/me`, { signal, reportLost: false });
}
