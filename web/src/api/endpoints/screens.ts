/** `POST /api/v1/screens`: a boolean expression on the last bar of every dataset. */
import { API_PREFIX, requestJson } from "../http";
import type { ScreenRequest, ScreenResult } from "../types";

export function runScreen(body: ScreenRequest, signal?: AbortSignal): Promise<ScreenResult> {
  return requestJson<ScreenResult>(`${API_PREFIX}/screens`, { method: "POST", body, signal });
}
