/**
 * Checks text as it is typed (`POST /strategies/check`), once typing has paused (`CHECK_DELAY_MS`):
 * the answer says which text it is for, so problems are shown only against that text.
 */
import { keepPreviousData, skipToken, useQuery } from "@tanstack/react-query";
import { useEffect, useState } from "react";

import { checkStrategy } from "../../api/endpoints/strategies";
import type { StrategyCheckResult } from "../../api/types";
import { strategyKeys } from "../../queries/keys/strategies";

export const CHECK_DELAY_MS = 300;

interface Answer {
  code: string;
  result: StrategyCheckResult;
}

export interface Checked {
  /** The text the result is for; `null` before the first answer. */
  code: string | null;
  result: StrategyCheckResult | null;
  error: unknown;
  /** A check is waiting for typing to pause or for its answer. */
  pending: boolean;
}

/** `value`, once it has stayed the same for `delayMs`. */
export function useDebounced<T>(value: T, delayMs: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), delayMs);
    return () => clearTimeout(timer);
  }, [value, delayMs]);
  return settled;
}

export function useStrategyCheck(code: string, kind: "strategy" | "expression", enabled = true): Checked {
  const settled = useDebounced(code, CHECK_DELAY_MS);
  const wanted = enabled && settled.trim() !== "";
  const query = useQuery<Answer, Error, Answer>({
    queryKey: [...strategyKeys.all, "check", kind, settled],
    queryFn: wanted ? ({ signal }) => checkStrategy({ code: settled, kind }, signal).then((result) => ({ code: settled, result })) : skipToken,
    staleTime: Infinity,
    gcTime: 60_000,
    retry: false,
    // The last answer stays while the next is asked (its problems show only against its own text).
    placeholderData: keepPreviousData,
  });
  const data = wanted ? (query.data ?? null) : null;
  return { code: data?.code ?? null, result: data?.result ?? null, error: wanted ? query.error : null, pending: wanted && (settled !== code || query.isFetching) };
}
