/**
 * `POST /api/v1/stocks/chart-data` — a chart slice as an Arrow IPC stream plus the headers that
 * describe it. Kept apart from `stocks.ts` so that only the Analysis page loads apache-arrow.
 *
 * Answers carry an `ETag`; the last few answers are kept in memory (by request body) and asked
 * for again with `If-None-Match`, so scrolling back and forth over the same windows costs a 304.
 */
import { tableFromIPC, type Table } from "apache-arrow";

import { API_PREFIX, requestRaw } from "../http";
import { ApiError } from "../problem";
import type { ChartDataRequest } from "../types";

export const ARROW_STREAM = "application/vnd.apache.arrow.stream";

export interface SliceMeta {
  /** The bar width the server actually used (`X-K2Q-Bucket`), e.g. `1d`, `5m`. */
  bucket: string | null;
  /** The timeframe asked for, or the one the server picked when none was (`X-K2Q-Timeframe`). */
  timeframe: string | null;
  sourceSeries: string | null;
  truncated: boolean;
  rows: number | null;
  /** Split-adjusted (`true`) or raw (`false`) prices (`X-K2Q-Adjusted`); `null` when not said. */
  adjusted: boolean | null;
  /** `regular` or `extended` (`X-K2Q-Session`); `null` when not said. */
  session: string | null;
  etag: string | null;
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
  const adjusted = text("X-K2Q-Adjusted")?.toLowerCase() ?? null;
  return {
    bucket: text("X-K2Q-Bucket"),
    timeframe: text("X-K2Q-Timeframe"),
    sourceSeries: text("X-K2Q-Source-Series"),
    truncated: text("X-K2Q-Truncated")?.toLowerCase() === "true",
    rows,
    adjusted: adjusted === "true" ? true : adjusted === "false" ? false : null,
    session: text("X-K2Q-Session"),
    etag: text("ETag"),
  };
}

interface CacheEntry {
  etag: string;
  bytes: Uint8Array;
  meta: SliceMeta;
}

/** Most answers kept, and most bytes in all. */
export const CACHE_ENTRIES = 24;
export const CACHE_BYTES = 32 * 1024 * 1024;

const cache = new Map<string, CacheEntry>();

function remember(key: string, entry: CacheEntry): void {
  cache.delete(key);
  if (entry.bytes.byteLength > CACHE_BYTES / 4) return;
  cache.set(key, entry);
  let total = 0;
  for (const e of cache.values()) total += e.bytes.byteLength;
  for (const [k, e] of cache) {
    if (cache.size <= CACHE_ENTRIES && total <= CACHE_BYTES) break;
    cache.delete(k);
    total -= e.bytes.byteLength;
  }
}

/** Forgets every remembered answer (tests; signing out). */
export function clearSliceCache(): void {
  cache.clear();
}

function decode(bytes: Uint8Array, meta: SliceMeta): ChartSlice {
  const table = tableFromIPC(bytes);
  // The picked timeframe is also in the schema metadata, for clients that cannot read headers.
  const timeframe = meta.timeframe ?? table.schema.metadata.get("k2q.timeframe") ?? null;
  return { table, ...meta, timeframe };
}

/** Fetches and decodes one chart slice (a 304 reuses the remembered answer). */
export async function fetchChartSlice(request: ChartDataRequest, signal?: AbortSignal): Promise<ChartSlice> {
  const key = JSON.stringify(request);
  const known = cache.get(key);
  const res = await requestRaw(
    `${API_PREFIX}/stocks/chart-data`,
    { method: "POST", body: request, signal, okStatuses: [304], headers: known !== undefined ? { "If-None-Match": known.etag } : {} },
    ARROW_STREAM,
  );
  if (res.status === 304 && known !== undefined) {
    remember(key, known); // most recently used
    return decode(known.bytes, known.meta);
  }
  if (res.status === 304) throw new ApiError(304, "Unexpected chart-data answer", "Not Modified without a cached copy");
  const contentType = res.headers.get("Content-Type") ?? "";
  if (contentType.includes("json") || contentType.includes("html")) {
    throw new ApiError(res.status, "Unexpected chart-data answer", `Expected ${ARROW_STREAM}, got ${contentType}`);
  }
  const bytes = new Uint8Array(await res.arrayBuffer());
  const meta = parseSliceMeta(res.headers);
  if (meta.etag !== null) remember(key, { etag: meta.etag, bytes, meta });
  return decode(bytes, meta);
}
