/**
 * Problem details (RFC 9457) → `ApiError`. The server answers every error with one body shape:
 * JSON with `title`, `status`, usually `detail`, and sometimes `extra` (e.g. the list of
 * invalid fields of a request). The body is parsed defensively: a proxy or a crash may answer
 * with HTML or plain text instead.
 */
import { isRecord } from "../lib/ensure";

export class ApiError extends Error {
  readonly status: number;
  readonly title: string;
  readonly detail: string | null;
  readonly extra: unknown;
  /** Seconds to wait before retrying, from a `Retry-After` header (429, 503); `null` without one. */
  readonly retryAfterS: number | null;

  constructor(status: number, title: string, detail: string | null = null, extra: unknown = null, retryAfterS: number | null = null) {
    super(detail !== null && detail !== "" ? `${title}: ${detail}` : title);
    this.name = "ApiError";
    this.status = status;
    this.title = title;
    this.detail = detail;
    this.extra = extra;
    this.retryAfterS = retryAfterS;
  }
}

/**
 * Seconds in a `Retry-After` header: delay-seconds or an HTTP date (RFC 9110 §10.2.3); `null` when
 * absent or unreadable. Never negative.
 *
 * @example parseRetryAfter("30") // 30
 */
export function parseRetryAfter(value: string | null, nowMs: number = Date.now()): number | null {
  if (value === null) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - nowMs) / 1000));
}

/** Builds an `ApiError` from an error response's status and (already parsed) body. */
export function problemFromBody(status: number, statusText: string, body: unknown, retryAfterS: number | null = null): ApiError {
  const fallbackTitle = statusText !== "" ? statusText : `HTTP ${status}`;
  if (isRecord(body)) {
    const title = typeof body.title === "string" && body.title !== "" ? body.title : fallbackTitle;
    const detail = typeof body.detail === "string" ? body.detail : null;
    const code = typeof body.status === "number" ? body.status : status;
    return new ApiError(code, title, detail, body.extra ?? null, retryAfterS);
  }
  if (typeof body === "string" && body.trim() !== "") {
    return new ApiError(status, fallbackTitle, body.trim().slice(0, 500), null, retryAfterS);
  }
  return new ApiError(status, fallbackTitle, null, null, retryAfterS);
}

/** Reads an error response's body (JSON or text) and its `Retry-After` into an `ApiError`. */
export async function problemFromResponse(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => "");
  let body: unknown = text;
  if (text !== "") {
    try {
      body = JSON.parse(text) as unknown;
    } catch {
      body = text;
    }
  }
  return problemFromBody(res.status, res.statusText, body, parseRetryAfter(res.headers.get("Retry-After")));
}

/**
 * Human-readable lines for a problem's `extra`: `key: message` for Litestar/msgspec
 * validation lists, `key: value` for objects, the value itself otherwise.
 *
 * @example problemExtraLines([{ key: "symbols", message: "must not be empty" }]) // ["symbols: must not be empty"]
 */
export function problemExtraLines(extra: unknown): string[] {
  if (extra === null || extra === undefined) return [];
  if (Array.isArray(extra)) {
    return extra.flatMap((item): string[] => {
      if (isRecord(item)) {
        const message = typeof item.message === "string" ? item.message : JSON.stringify(item);
        const key = typeof item.key === "string" && item.key !== "" ? item.key : null;
        return [key !== null ? `${key}: ${message}` : message];
      }
      return [String(item)];
    });
  }
  if (isRecord(extra)) {
    return Object.entries(extra).map(([key, value]) => `${key}: ${typeof value === "string" ? value : JSON.stringify(value)}`);
  }
  return [typeof extra === "string" ? extra : JSON.stringify(extra)];
}

/** Whether an error is the rejection of an aborted fetch (to be ignored, not shown). */
export function isAbortError(error: unknown): boolean {
  return error instanceof DOMException ? error.name === "AbortError" : isRecord(error) && error.name === "AbortError";
}

/** A short message for any thrown value. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}
