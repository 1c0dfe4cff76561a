/** Store readiness from `GET /ready`, refreshed every 15 s. */
import { useQuery } from "@tanstack/react-query";

import { getReadiness } from "../../api/endpoints/health";
import type { Readiness } from "../../api/types";
import { healthKeys } from "../../queries/keys/health";

export const READINESS_INTERVAL_MS = 15_000;

export function useReadiness(): { readiness: Readiness | null; error: unknown } {
  const { data, error } = useQuery({
    queryKey: healthKeys.readiness(),
    queryFn: ({ signal }) => getReadiness(signal),
    refetchInterval: READINESS_INTERVAL_MS,
    // The next reading is the retry: an unreachable API is said at once, not after a few attempts.
    retry: false,
  });
  return { readiness: data ?? null, error };
}
