/**
 * `POST /api/v1/stocks/chart-data` — a chart slice as an Arrow IPC stream plus the headers that
 * describe it. Kept apart from `client.ts` so that only the Analysis page loads apache-arrow.
 */
import { tableFromIPC, type Table } from "apache-arrow";

import { API_PREFIX, requestRaw } from "./client";
import { ApiError } from "./problem";
import type { ChartDataRequest } from "./types";

export const ARROW_STREAM = "application/vnd.apache.arrow.stream";

export interface SliceMeta {
  /** The bar width the server actually used (`X-K2Q-Bucket`), e.g. `1d`, `5m`. */
  bucket: string | null;
  sourceSeries: string | null;
  truncated: boolean;
  rows: number | null;
}

export interface ChartSlice extends SliceMeta {
  table: Table;
}

/** Reads the `X-K2Q-*` headers of a chart-data answer. */
export function parseSliceMeta(headers: Pick<Headers, "get">): SliceMeta {
  const text = (name: string): string | null => {
    const value = headers.get(name);
    return value !== null && value.trim() !== "" ? value.trim() : null;
  };
  const rowsText = text("X-K2Q-Rows");
  const rows = rowsText !== null && /^\d+$/.test(rowsText) ? Number(rowsText) : null;
  return {
    bucket: text("X-K2Q-Bucket"),
    sourceSeries: text("X-K2Q-Source-Series"),
    truncated: text("X-K2Q-Truncated")?.toLowerCase() === "true",
    rows,
  };
}

/** Fetches and decodes one chart slice. */
export async function fetchChartSlice(request: ChartDataRequest, signal?: AbortSignal): Promise<ChartSlice> {
  const res = await requestRaw(`${API_PREFIX}/stocks/chart-data`, { method: "POST", body: request, signal }, ARROW_STREAM);
  const contentType = res.headers.get("Content-Type") ?? "";
  if (contentType.includes("json") || contentType.includes("html")) {
    throw new ApiError(res.status, "Unexpected chart-data answer", `Expected ${ARROW_STREAM}, got ${contentType}`);
  }
  const table = tableFromIPC(new Uint8Array(await res.arrayBuffer()));
  return { table, ...parseSliceMeta(res.headers) };
}
