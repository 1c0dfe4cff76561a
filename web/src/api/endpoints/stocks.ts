/** `/api/v1/stocks`: the datasets, their bars and data quality, and starting a fetch job. */
import { API_PREFIX, requestJson } from "../http";
import type { BarPage, DataQuality, DataQualityReport, Dataset, DeletedDataset, FetchRequest, JobAccepted } from "../types";

/** Which gaps of a quality report: those overlapping `[fromMs, toMs]` (the whole range when omitted), at most `limit`. */
export interface QualityWindow {
  fromMs?: number;
  toMs?: number;
  limit?: number;
}

export function listDatasets(signal?: AbortSignal): Promise<Dataset[]> {
  return requestJson<Dataset[]>(`${API_PREFIX}/stocks/tables`, { signal });
}

export function startFetch(request: FetchRequest, signal?: AbortSignal): Promise<JobAccepted> {
  return requestJson<JobAccepted>(`${API_PREFIX}/stocks/fetch`, { method: "POST", body: request, signal });
}

/** A dataset's data quality and its gaps in `window` (the server assesses a dataset never assessed). */
export function getTableQuality(table: string, window: QualityWindow = {}, signal?: AbortSignal): Promise<DataQualityReport> {
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
