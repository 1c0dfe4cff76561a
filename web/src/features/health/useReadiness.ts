/** Store readiness from `GET /ready`, refreshed every 15 s. */
import { useEffect, useState } from "react";

import { getReadiness } from "../../api/client";
import { isAbortError } from "../../api/problem";
import type { Readiness } from "../../api/types";

export const READINESS_INTERVAL_MS = 15_000;

export function useReadiness(): { readiness: Readiness | null; error: unknown } {
  const [readiness, setReadiness] = useState<Readiness | null>(null);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async (): Promise<void> => {
      try {
        setReadiness(await getReadiness(controller.signal));
        setError(null);
      } catch (e) {
        if (isAbortError(e)) return;
        setError(e);
      }
      timer = setTimeout(() => void tick(), READINESS_INTERVAL_MS);
    };
    void tick();
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, []);

  return { readiness, error };
}
