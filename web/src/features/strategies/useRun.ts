/**
 * Follows a strategy run: `GET /strategies/runs/{id}` until it has finished, polled every second
 * (every 5 s while the socket is open, as a net for an event missed during a reconnect), and read
 * again at once when its `strategy_applied` event arrives (`useRunEvents`, which also passes on its
 * job's progress). A finished run never changes: it is read once and kept, with the first page of
 * its trades (`TradesTable` asks for the others).
 */
import { skipToken, useQuery } from "@tanstack/react-query";
import { useEffect, useRef } from "react";

import { getEquity, getRun } from "../../api/endpoints/strategies";
import { ApiError } from "../../api/problem";
import type { EquityCurve, StrategyRun } from "../../api/types";
import { strategyKeys } from "../../queries/keys/strategies";
import { TRADES_PAGE } from "./tradePages";
import { useRunEvents } from "./useRunEvents";

export const POLL_MS = 1000;
export const POLL_WITH_EVENTS_MS = 5000;
const RETRY_MS = 3000;
/** Points asked of an equity curve (the server keeps each bucket's low and its last point). */
export const EQUITY_POINTS = 1500;

export interface RunState {
  run: StrategyRun | null;
  error: unknown;
  /** Whether live events arrive (the socket is open). */
  live: boolean;
}

export function isFinished(run: Pick<StrategyRun, "status"> | null | undefined): boolean {
  return run?.status === "complete" || run?.status === "failed";
}

/** `listen`: follow its events too (one follower per run is enough: the query cache shares the rest). */
export function useRun(runId: string | null, listen = true): RunState {
  const liveRef = useRef(false);
  const query = useQuery({
    queryKey: strategyKeys.run(runId),
    queryFn: runId === null ? skipToken : ({ signal }) => getRun(runId, signal, { offset: 0, limit: TRADES_PAGE }),
    staleTime: (q) => (isFinished(q.state.data) ? Infinity : 0),
    refetchInterval: (q) => {
      const { status, error, data } = q.state;
      if (status === "error") return error instanceof ApiError && (error.status === 404 || error.status === 422) ? false : RETRY_MS;
      if (isFinished(data) || !listen) return false;
      return liveRef.current ? POLL_WITH_EVENTS_MS : POLL_MS;
    },
    refetchIntervalInBackground: true,
    retry: false,
  });
  const run = query.data !== undefined && query.data.run_id === runId ? query.data : null;
  const live = useRunEvents(listen && runId !== null && !isFinished(run) ? runId : null, run?.job_id ?? null);
  useEffect(() => {
    liveRef.current = live;
  }, [live]);
  return { run, error: query.error, live };
}

/** A complete backtest's equity curve; nothing for any other run. */
export function useEquity(run: StrategyRun | null): { curve: EquityCurve | null; error: unknown } {
  const ready = run !== null && run.status === "complete" && run.kind === "backtest";
  const runId = run?.run_id ?? null;
  const query = useQuery({
    queryKey: strategyKeys.equity(runId, EQUITY_POINTS),
    queryFn: ready && runId !== null ? ({ signal }) => getEquity(runId, EQUITY_POINTS, signal) : skipToken,
    staleTime: Infinity,
    retry: false,
  });
  return { curve: query.data ?? null, error: query.error };
}
