/**
 * Requests to the K2 Quant API and the session they run in: a small typed wrapper over `fetch`.
 * All URLs are relative: the app is served by the API itself (or proxied to it by Vite in
 * development). Error answers become `ApiError`s carrying the problem details' title, detail and
 * status. The endpoints themselves are in `endpoints/`, one module per area.
 *
 * Sessions: the server keeps the session in HttpOnly cookies (`k2q_access`, `k2q_refresh`) sent
 * with every same-origin request. Unsafe methods also send `X-CSRF-Token` with the value of the
 * readable `k2q_csrf` cookie. A 401 triggers one `POST /auth/refresh` — shared by every request
 * that fails meanwhile — and the request is sent again; when the refresh is refused, the session
 * is lost: the registered handler runs (by default: go to `/login?next=<here>`).
 */
import { loginHref } from "../state/login";
import { CSRF_HEADER, csrfToken } from "./cookies";
import { ApiError, problemFromResponse } from "./problem";
import type { Session } from "./types";

export const API_PREFIX = "/api/v1";
export const AUTH_PREFIX = `${API_PREFIX}/auth`;

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
const UNSAFE_METHODS: ReadonlySet<Method> = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export interface RequestOptions {
  method?: Method;
  /** JSON-encoded, except a `Blob` (e.g. a `File`), which is sent as it is with its own type. */
  body?: unknown;
  signal?: AbortSignal | undefined;
  /** Statuses besides 2xx whose JSON body is a normal answer (e.g. 503 from /ready). */
  okStatuses?: readonly number[];
  /** On a 401, refresh the session once and send again (default true; false for the auth endpoints). */
  refresh?: boolean;
  /** When the session turns out to be gone, run the session-lost handler (default true). */
  reportLost?: boolean;
  /** Extra request headers (e.g. `If-None-Match`). */
  headers?: Readonly<Record<string, string>>;
}

// ---------------------------------------------------------------------------------------------
// Session lifecycle: refresh once, shared; what to do when the session is gone
// ---------------------------------------------------------------------------------------------

type SessionLostHandler = () => void;
type SessionListener = (session: Session) => void;

function redirectToLogin(): void {
  if (typeof window === "undefined" || window.location.pathname === "/login") return;
  window.location.assign(loginHref(window.location.pathname + window.location.search));
}

let onSessionLost: SessionLostHandler = redirectToLogin;
const sessionListeners = new Set<SessionListener>();
/** Bumped whenever new session cookies arrive (login, refresh): a 401 to a request sent before is stale. */
let generation = 0;
let refreshing: Promise<RefreshOutcome> | null = null;

export type RefreshOutcome = "ok" | "denied" | "error";

/** Replaces what happens when the session is gone (the app navigates in-router); returns an undo. */
export function setSessionLostHandler(handler: SessionLostHandler): () => void {
  onSessionLost = handler;
  return () => {
    if (onSessionLost === handler) onSessionLost = redirectToLogin;
  };
}

/** Calls `listener` with each new session (login, token login, refresh); returns an unsubscribe. */
export function onSession(listener: SessionListener): () => void {
  sessionListeners.add(listener);
  return () => {
    sessionListeners.delete(listener);
  };
}

/** Announces new session cookies (the auth endpoints call it after a login). */
export function sessionStarted(session: Session): void {
  generation += 1;
  for (const listener of sessionListeners) listener(session);
}

function sessionLost(): void {
  onSessionLost();
}

/**
 * Runs `task` under a lock every tab of this origin shares (Web Locks), where available: the server
 * revokes a session whose refresh token is used twice, so two tabs must not refresh at once.
 */
async function acrossTabs<T>(task: () => Promise<T>): Promise<T> {
  const locks = typeof navigator !== "undefined" ? navigator.locks : undefined;
  if (locks === undefined) return task();
  return locks.request("k2q-session-refresh", task);
}

async function doRefresh(staleCsrf: string | null): Promise<RefreshOutcome> {
  return acrossTabs(async () => {
    // Each session renewal brings a new CSRF token: if it changed, another tab has just refreshed.
    if (csrfToken() !== staleCsrf) return "ok";
    return postRefresh();
  });
}

async function postRefresh(): Promise<RefreshOutcome> {
  let res: Response;
  try {
    res = await fetch(`${AUTH_PREFIX}/refresh`, { method: "POST", credentials: "same-origin", headers: baseHeaders("POST", "application/json") });
  } catch {
    return "error";
  }
  if (!res.ok) return res.status === 401 || res.status === 403 ? "denied" : "error";
  let session: Session | null;
  try {
    session = (await res.json()) as Session;
  } catch {
    session = null;
  }
  if (session !== null) sessionStarted(session);
  else generation += 1;
  return "ok";
}

/**
 * Asks for new session cookies with the refresh cookie. Concurrent callers share one request:
 * the refresh token rotates, so a second refresh racing the first would be refused.
 */
export function refreshSession(staleCsrf: string | null = csrfToken()): Promise<RefreshOutcome> {
  if (refreshing === null) {
    const pending = doRefresh(staleCsrf);
    refreshing = pending;
    void pending.finally(() => {
      if (refreshing === pending) refreshing = null;
    });
  }
  return refreshing;
}

/** For tests: forget any refresh in flight, the generation, listeners and handler. */
export function resetSessionStateForTests(): void {
  refreshing = null;
  generation = 0;
  sessionListeners.clear();
  onSessionLost = redirectToLogin;
}

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

function baseHeaders(method: Method, accept: string): Record<string, string> {
  const headers: Record<string, string> = { Accept: `${accept}, application/problem+json` };
  if (UNSAFE_METHODS.has(method)) {
    const token = csrfToken();
    if (token !== null) headers[CSRF_HEADER] = token;
  }
  return headers;
}

async function fetchOnce(path: string, options: RequestOptions, accept: string): Promise<Response> {
  const method = options.method ?? "GET";
  const headers = { ...options.headers, ...baseHeaders(method, accept) };
  const init: RequestInit = { method, headers, credentials: "same-origin" };
  if (options.body instanceof Blob) {
    headers["Content-Type"] = options.body.type !== "" ? options.body.type : "application/octet-stream";
    init.body = options.body;
  } else if (options.body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(options.body);
  }
  if (options.signal !== undefined) init.signal = options.signal;
  try {
    return await fetch(path, init);
  } catch (error) {
    if (error instanceof DOMException && error.name === "AbortError") throw error;
    throw new ApiError(0, "Network error", error instanceof Error ? error.message : String(error));
  }
}

async function send(path: string, options: RequestOptions, accept: string): Promise<Response> {
  const refresh = options.refresh ?? true;
  const reportLost = options.reportLost ?? true;
  const sentAt = generation;
  const sentCsrf = csrfToken();
  let res = await fetchOnce(path, options, accept);
  if (res.status === 401 && refresh) {
    // New cookies may have arrived since this request left (another request's or tab's refresh): just resend.
    const outcome = sentAt === generation ? await refreshSession(sentCsrf) : "ok";
    if (outcome === "error") throw new ApiError(0, "Network error", "Could not renew the session");
    if (outcome === "ok") res = await fetchOnce(path, options, accept);
    if (res.status === 401 && reportLost) sessionLost();
  } else if (res.status === 401 && reportLost) {
    sessionLost();
  }
  if (!res.ok && !(options.okStatuses ?? []).includes(res.status)) {
    throw await problemFromResponse(res);
  }
  return res;
}

/** Sends a request and returns the answer's JSON body, typed by the caller from the generated schema. */
export async function requestJson<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const res = await send(path, options, "application/json");
  const body: unknown = await res.json();
  return body as T;
}

/** Sends a request whose answer has no body (204). */
export async function requestVoid(path: string, options: RequestOptions = {}): Promise<void> {
  const res = await send(path, options, "application/json");
  await res.body?.cancel();
}

/** Sends a request and returns the raw `Response` (for binary answers such as Arrow streams). */
export async function requestRaw(path: string, options: RequestOptions, accept: string): Promise<Response> {
  return send(path, options, accept);
}
