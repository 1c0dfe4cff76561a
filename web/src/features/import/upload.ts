/**
 * Uploads a file to `POST /api/v1/stocks/import`: the file is the request body itself (the server
 * streams it to disk), the series is named in the query. The API client adds the CSRF header and
 * renews the session as for any write.
 */
import { API_PREFIX, requestRaw } from "../../api/http";
import { problemFromBody } from "../../api/problem";
import { importQuery, type ImportParams, type ImportRejection, type ImportResult, isRejection } from "./form";

export type ImportOutcome = { kind: "imported"; result: ImportResult } | { kind: "rejected"; rejection: ImportRejection };

/**
 * Imports `file` as `params` says. A file with problems is an outcome (`rejected`, nothing stored);
 * any other failure (403, 409, 413 …) throws an `ApiError`.
 */
export async function importFile(file: Blob, params: ImportParams, signal?: AbortSignal): Promise<ImportOutcome> {
  const url = `${API_PREFIX}/stocks/import?${importQuery(params).toString()}`;
  const res = await requestRaw(url, { method: "POST", body: file, signal, okStatuses: [422] }, "application/json");
  const body: unknown = await res.json();
  if (res.status === 422) {
    if (isRejection(body)) return { kind: "rejected", rejection: body };
    throw problemFromBody(res.status, res.statusText, body);
  }
  return { kind: "imported", result: body as ImportResult };
}
