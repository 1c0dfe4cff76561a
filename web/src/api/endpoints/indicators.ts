/** `/api/v1/indicators`: the catalog of indicators a chart can draw. */
import { API_PREFIX, requestJson } from "../http";
import type { IndicatorInfo } from "../types";

export function listIndicators(signal?: AbortSignal): Promise<IndicatorInfo[]> {
  return requestJson<IndicatorInfo[]>(`${API_PREFIX}/indicators/list`, { signal });
}
