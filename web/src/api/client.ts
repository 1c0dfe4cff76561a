/**
 * A small typed wrapper over `fetch` for the K2 Quant API. All URLs are relative: the app is
 * served by the API itself (or proxied to it by Vite in development). Error answers become
 * `ApiError`s carrying the problem details' title, detail and status.
 */
import { ApiError, problemFromResponse } from "./problem";
import type {
  BarPage,
  Dataset,
  DeletedDataset,
  FetchRequest,
  JobAccepted,
  JobStatus,
  Liveness,
  Readiness,
} from "./types";

export const API_PREFIX = "/api/v1";

interface RequestOptions {
  method?: "GET" | "POST" | "DELETE";
  body?: unknown;
  signal?: AbortSignal | undefined;
  /** Statuses besides 2xx whose JSON body is a normal answer (e.g. 503 from /ready). */
  okStatuses?: readonly number[];
}

async function send(path: string, options: RequestOptions, accept: string): Promise<Response> {
  const headers: Record<string, string> = { Accept: `${accept}, application/problem+json` };
  const init: RequestInit = { method: options.method ?? "GET", headers };
  if (options.body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(options.body);
  }
  if (options.signal !== undefined) init.signal = options.signal;
  let res: Response;
  try {
    res = await fetch(path, init);
  } catch (error) {
    if (error instanceof DOMException && error.name === "AbortError") throw error;
    throw new ApiError(0, "Network error", error instanceof Error ? error.message : String(error));
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

/** Sends a request and returns the raw `Response` (for binary answers such as Arrow streams). */
export async function requestRaw(path: string, options: RequestOptions, accept: string): Promise<Response> {
  return send(path, options, accept);
}

export function listDatasets(signal?: AbortSignal): Promise<Dataset[]> {
  return requestJson<Dataset[]>(`${API_PREFIX}/stocks/tables`, { signal });
}

export function startFetch(request: FetchRequest, signal?: AbortSignal): Promise<JobAccepted> {
  return requestJson<JobAccepted>(`${API_PREFIX}/stocks/fetch`, { method: "POST", body: request, signal });
}

export function getJob(jobId: string, signal?: AbortSignal): Promise<JobStatus> {
  return requestJson<JobStatus>(`${API_PREFIX}/jobs/${encodeURIComponent(jobId)}`, { signal });
}

export function deleteDataset(table: string): Promise<DeletedDataset> {
  return requestJson<DeletedDataset>(`${API_PREFIX}/stocks/table/${encodeURIComponent(table)}`, { method: "DELETE" });
}

export function getTableData(table: string, offset = 0, limit = 100, signal?: AbortSignal): Promise<BarPage> {
  const query = new URLSearchParams({ offset: String(offset), limit: String(limit) });
  return requestJson<BarPage>(`${API_PREFIX}/stocks/data/${encodeURIComponent(table)}?${query.toString()}`, { signal });
}

export function getHealth(signal?: AbortSignal): Promise<Liveness> {
  return requestJson<Liveness>("/health", { signal });
}

/** Store readiness; a 503 answer carries the same body (some store is down). */
export function getReadiness(signal?: AbortSignal): Promise<Readiness> {
  return requestJson<Readiness>("/ready", { signal, okStatuses: [503] });
}
