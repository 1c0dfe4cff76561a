/** `/health` (liveness) and `/ready` (the stores' readiness). */
import { requestJson } from "../http";
import type { Liveness, Readiness } from "../types";

export function getHealth(signal?: AbortSignal): Promise<Liveness> {
  return requestJson<Liveness>("/health", { signal, refresh: false, reportLost: false });
}

/** Store readiness; a 503 answer carries the same body (some store is down). Anonymous: only `ok`. */
export function getReadiness(signal?: AbortSignal): Promise<Readiness> {
  return requestJson<Readiness>("/ready", { signal, okStatuses: [503] });
}
