/**
 * A series' projections (`GET /projections?symbol=&timeframe=`), read again every second while one
 * of them is queued or running; starting and deleting one; an evaluation followed until it has
 * finished; and the series' leaderboard (its latest complete evaluation).
 */
import { skipToken, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { createProjection, deleteProjection, getEvaluation, getLeaderboard, listProjections, startEvaluation } from "../../api/endpoints/projections";
import type { Evaluation, EvaluationRequest, Projection, ProjectionRequest, ProjectionStatus } from "../../api/types";
import { projectionKeys } from "../../queries/keys/projections";

export const LIST_POLL_MS = 1000;
export const EVALUATION_POLL_MS = 1000;

export function isDone(status: ProjectionStatus): boolean {
  return status === "complete" || status === "failed";
}

export interface SeriesKey {
  symbol: string;
  timeframe: string;
  /** Split-adjusted prices or raw: a projection of the other kind is of other prices (the list holds both). */
  adjusted: boolean;
}

export function useProjectionList(series: SeriesKey | null): { projections: Projection[] | null; error: unknown } {
  const symbol = series?.symbol ?? null;
  const timeframe = series?.timeframe ?? null;
  const adjusted = series?.adjusted ?? true;
  const query = useQuery({
    queryKey: projectionKeys.list(symbol, timeframe),
    queryFn: symbol !== null && timeframe !== null ? ({ signal }) => listProjections(symbol, timeframe, signal) : skipToken,
    select: (list) => list.filter((p) => p.adjusted === adjusted),
    refetchInterval: (q) => (q.state.data?.some((p) => !isDone(p.status)) === true ? LIST_POLL_MS : false),
    refetchIntervalInBackground: true,
  });
  return { projections: query.data ?? null, error: query.error };
}

export function useCreateProjection() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: ProjectionRequest) => createProjection(body),
    onSuccess: () => client.invalidateQueries({ queryKey: [...projectionKeys.all, "list"] }),
  });
}

export function useDeleteProjection() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => deleteProjection(id),
    onSuccess: (_, id) => {
      client.setQueriesData<Projection[]>({ queryKey: [...projectionKeys.all, "list"] }, (list) => list?.filter((p) => p.id !== id));
      void client.invalidateQueries({ queryKey: [...projectionKeys.all, "list"], refetchType: "none" });
    },
  });
}

export function useStartEvaluation() {
  return useMutation({ mutationFn: (body: EvaluationRequest) => startEvaluation(body) });
}

/** An evaluation, read every second until it has finished. */
export function useEvaluation(id: string | null): { evaluation: Evaluation | null; error: unknown } {
  const query = useQuery({
    queryKey: projectionKeys.evaluation(id),
    queryFn: id !== null ? ({ signal }) => getEvaluation(id, signal) : skipToken,
    staleTime: (q) => (q.state.data !== undefined && isDone(q.state.data.status) ? Infinity : 0),
    refetchInterval: (q) => (q.state.status === "error" || (q.state.data !== undefined && isDone(q.state.data.status)) ? false : EVALUATION_POLL_MS),
    refetchIntervalInBackground: true,
    retry: false,
  });
  return { evaluation: query.data ?? null, error: query.error };
}

export function useLeaderboard(series: SeriesKey | null): { leaderboard: Evaluation | null; error: unknown } {
  const symbol = series?.symbol ?? null;
  const timeframe = series?.timeframe ?? null;
  const query = useQuery({
    queryKey: projectionKeys.leaderboard(symbol, timeframe),
    queryFn: symbol !== null && timeframe !== null ? ({ signal }) => getLeaderboard(symbol, timeframe, signal) : skipToken,
  });
  return { leaderboard: query.data ?? null, error: query.error };
}
