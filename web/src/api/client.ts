/**
 * A small typed wrapper over `fetch` for the K2 Quant API. All URLs are relative: the app is
 * served by the API itself (or proxied to it by Vite in development). Error answers become
 * `ApiError`s carrying the problem details' title, detail and status.
 *
 * Sessions: the server keeps the session in HttpOnly cookies (`k2q_access`, `k2q_refresh`) sent
 * with every same-origin request. Unsafe methods also send `X-CSRF-Token` with the value of the
 * readable `k2q_csrf` cookie. A 401 triggers one `POST /auth/refresh` — shared by every request
 * that fails meanwhile — and the request is sent again; when the refresh is refused, the session
 * is lost: the registered handler runs (by default: go to `/login?next=<here>`).
 */
import { loginHref } from "../state/login";
import { ApiError, problemFromResponse } from "./problem";
import type {
  ApiKeyCreate,
  ApiKeyCreated,
  ApiKeyInfo,
  AuditEntry,
  BarPage,
  DataQuality,
  DataQualityReport,
  Dataset,
  DeletedDataset,
  FetchRequest,
  JobAccepted,
  JobStatus,
  Liveness,
  LoginRequest,
  Me,
  Readiness,
  Session,
  UserCreate,
  UserInfo,
  UserUpdate,
} from "./types";

export const API_PREFIX = "/api/v1";
export const AUTH_PREFIX = `${API_PREFIX}/auth`;
export const CSRF_COOKIE = "k2q_csrf";
export const CSRF_HEADER = "X-CSRF-Token";

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
const UNSAFE_METHODS: ReadonlySet<Method> = new Set(["POST", "PUT", "PATCH", "DELETE"]);

interface RequestOptions {
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
// Cookies and CSRF
// ---------------------------------------------------------------------------------------------

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

function sessionStarted(session: Session): void {
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
  let session: Session | null = null;
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

// ---------------------------------------------------------------------------------------------
// Data
// ---------------------------------------------------------------------------------------------

export function listDatasets(signal?: AbortSignal): Promise<Dataset[]> {
  return requestJson<Dataset[]>(`${API_PREFIX}/stocks/tables`, { signal });
}

export function startFetch(request: FetchRequest, signal?: AbortSignal): Promise<JobAccepted> {
  return requestJson<JobAccepted>(`${API_PREFIX}/stocks/fetch`, { method: "POST", body: request, signal });
}

export function getJob(jobId: string, signal?: AbortSignal): Promise<JobStatus> {
  return requestJson<JobStatus>(`${API_PREFIX}/jobs/${encodeURIComponent(jobId)}`, { signal });
}

/** Asks the server to stop a fetch job: 202 with its status (a 409 problem when it has already finished). */
export function cancelJob(jobId: string): Promise<JobStatus> {
  return requestJson<JobStatus>(`${API_PREFIX}/jobs/${encodeURIComponent(jobId)}/cancel`, { method: "POST" });
}

/** A dataset's data quality and its gaps overlapping `[fromMs, toMs]` (the whole range when omitted). */
export function getTableQuality(table: string, window: { fromMs?: number; toMs?: number; limit?: number } = {}, signal?: AbortSignal): Promise<DataQualityReport> {
  const query = new URLSearchParams();
  if (window.fromMs !== undefined) query.set("from", String(Math.floor(window.fromMs)));
  if (window.toMs !== undefined) query.set("to", String(Math.ceil(window.toMs)));
  if (window.limit !== undefined) query.set("limit", String(window.limit));
  const text = query.toString();
  const suffix = text !== "" ? `?${text}` : "";
  return requestJson<DataQualityReport>(`${API_PREFIX}/stocks/table/${encodeURIComponent(table)}/quality${suffix}`, { signal });
}

/** Assesses a dataset's stored bars again (analysts and admins). */
export function assessTableQuality(table: string): Promise<DataQuality> {
  return requestJson<DataQuality>(`${API_PREFIX}/stocks/table/${encodeURIComponent(table)}/quality`, { method: "POST" });
}

export function deleteDataset(table: string): Promise<DeletedDataset> {
  return requestJson<DeletedDataset>(`${API_PREFIX}/stocks/table/${encodeURIComponent(table)}`, { method: "DELETE" });
}

export function getTableData(table: string, offset = 0, limit = 100, signal?: AbortSignal): Promise<BarPage> {
  const query = new URLSearchParams({ offset: String(offset), limit: String(limit) });
  return requestJson<BarPage>(`${API_PREFIX}/stocks/data/${encodeURIComponent(table)}?${query.toString()}`, { signal });
}

export function getHealth(signal?: AbortSignal): Promise<Liveness> {
  return requestJson<Liveness>("/health", { signal, refresh: false, reportLost: false });
}

/** Store readiness; a 503 answer carries the same body (some store is down). Anonymous: only `ok`. */
export function getReadiness(signal?: AbortSignal): Promise<Readiness> {
  return requestJson<Readiness>("/ready", { signal, okStatuses: [503] });
}

// ---------------------------------------------------------------------------------------------
// Authentication
// ---------------------------------------------------------------------------------------------

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

export function listMyApiKeys(signal?: AbortSignal): Promise<ApiKeyInfo[]> {
  return requestJson<ApiKeyInfo[]>(`${AUTH_PREFIX}/api-keys`, { signal });
}

export function createApiKey(request: ApiKeyCreate): Promise<ApiKeyCreated> {
  return requestJson<ApiKeyCreated>(`${AUTH_PREFIX}/api-keys`, { method: "POST", body: request });
}

export function revokeMyApiKey(prefix: string): Promise<void> {
  return requestVoid(`${AUTH_PREFIX}/api-keys/${encodeURIComponent(prefix)}`, { method: "DELETE" });
}

// ---------------------------------------------------------------------------------------------
// Administration
// ---------------------------------------------------------------------------------------------

export function listUsers(signal?: AbortSignal): Promise<UserInfo[]> {
  return requestJson<UserInfo[]>(`${API_PREFIX}/admin/users`, { signal });
}

export function createUser(request: UserCreate): Promise<UserInfo> {
  return requestJson<UserInfo>(`${API_PREFIX}/admin/users`, { method: "POST", body: request });
}

export function updateUser(username: string, update: UserUpdate): Promise<UserInfo> {
  return requestJson<UserInfo>(`${API_PREFIX}/admin/users/${encodeURIComponent(username)}`, { method: "PATCH", body: update });
}

export function listAllApiKeys(signal?: AbortSignal): Promise<ApiKeyInfo[]> {
  return requestJson<ApiKeyInfo[]>(`${API_PREFIX}/admin/api-keys`, { signal });
}

export function revokeAnyApiKey(prefix: string): Promise<void> {
  return requestVoid(`${API_PREFIX}/admin/api-keys/${encodeURIComponent(prefix)}`, { method: "DELETE" });
}

export interface AuditQuery {
  actor?: string;
  action?: string;
  outcome?: string;
  /** ISO 8601 instants. */
  since?: string;
  until?: string;
  limit?: number;
}

/** The audit log; empty filters are left out of the query. */
export function listAudit(query: AuditQuery, signal?: AbortSignal): Promise<AuditEntry[]> {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null) continue;
    const text = String(value).trim();
    if (text !== "") params.set(key, text);
  }
  const qs = params.toString();
  return requestJson<AuditEntry[]>(`${API_PREFIX}/admin/audit${qs !== "" ? `?${qs}` : ""}`, { signal });
}
