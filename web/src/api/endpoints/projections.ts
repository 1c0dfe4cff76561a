/**
 * `/api/v1/projections`: forecasts of a series' next bars (a median and a band around it), their
 * scores once the bars they forecast have come, and evaluations that rank the methods on a series'
 * past (`/projections/evaluate`, `/projections/leaderboard`).
 *
 * Starting a projection or an evaluation answers 202 with the job that computes it.
 */
import { API_PREFIX, requestJson, requestRaw, requestVoid } from "../http";
import type {
  Evaluation,
  EvaluationAccepted,
  EvaluationRequest,
  Projection,
  ProjectionAccepted,
  ProjectionRequest,
} from "../types";

const BASE = `${API_PREFIX}/projections`;

function seriesQuery(symbol: string, timeframe: string): string {
  return new URLSearchParams({ symbol, timeframe }).toString();
}

/** Starts a projection (analysts and admins): 202 with the projection to follow and its job. */
export function createProjection(body: ProjectionRequest): Promise<ProjectionAccepted> {
  return requestJson<ProjectionAccepted>(BASE, { method: "POST", body });
}

/** The projections of one series (symbol and timeframe), whatever their status. */
export function listProjections(symbol: string, timeframe: string, signal?: AbortSignal): Promise<Projection[]> {
  return requestJson<Projection[]>(`${BASE}?${seriesQuery(symbol, timeframe)}`, { signal });
}

export function getProjection(id: string, signal?: AbortSignal): Promise<Projection> {
  return requestJson<Projection>(`${BASE}/${encodeURIComponent(id)}`, { signal });
}

export function deleteProjection(id: string): Promise<void> {
  return requestVoid(`${BASE}/${encodeURIComponent(id)}`, { method: "DELETE" });
}

/** Starts an evaluation of the methods on the series' past (walk-forward cuts): 202 with its job. */
export function startEvaluation(body: EvaluationRequest): Promise<EvaluationAccepted> {
  return requestJson<EvaluationAccepted>(`${BASE}/evaluate`, { method: "POST", body });
}

export function getEvaluation(id: string, signal?: AbortSignal): Promise<Evaluation> {
  return requestJson<Evaluation>(`${BASE}/evaluations/${encodeURIComponent(id)}`, { signal });
}

/** The latest complete evaluation of a series, or `null` when it has none (404). */
export async function getLeaderboard(symbol: string, timeframe: string, signal?: AbortSignal): Promise<Evaluation | null> {
  const res = await requestRaw(`${BASE}/leaderboard?${seriesQuery(symbol, timeframe)}`, { signal, okStatuses: [404] }, "application/json");
  if (res.status === 404) {
    await res.body?.cancel();
    return null;
  }
  return (await res.json()) as Evaluation;
}
