/**
 * `/api/v1/strategies`: checking strategy text as it is typed, the stored strategies, and their runs
 * (backtests, sweeps, walk-forward) with their equity curves.
 *
 * A save refused because the text does not parse is an outcome (its problems by line and column),
 * not an error: the server answers 422 with the problems in the body's `problems`.
 */
import { isRecord } from "../../lib/ensure";
import { API_PREFIX, type Method, requestJson, requestRaw, requestVoid } from "../http";
import { problemFromBody } from "../problem";
import type {
  BacktestRequest,
  EquityCurve,
  ParseProblem,
  RunAccepted,
  Strategy,
  StrategyCheck,
  StrategyCheckResult,
  StrategyCreate,
  StrategyRun,
  StrategyRunSummary,
  StrategyUpdate,
  StrategyVersion,
  SweepRequest,
  WalkForwardRequest,
} from "../types";

const BASE = `${API_PREFIX}/strategies`;

export function checkStrategy(body: StrategyCheck, signal?: AbortSignal): Promise<StrategyCheckResult> {
  return requestJson<StrategyCheckResult>(`${BASE}/check`, { method: "POST", body, signal });
}

export function listStrategies(signal?: AbortSignal): Promise<Strategy[]> {
  return requestJson<Strategy[]>(`${BASE}/list`, { signal });
}

export function getStrategy(id: number, signal?: AbortSignal): Promise<Strategy> {
  return requestJson<Strategy>(`${BASE}/${id}`, { signal });
}

export type SaveOutcome = { kind: "saved"; strategy: Strategy } | { kind: "rejected"; detail: string; problems: ParseProblem[] };

/** Whether a 422 body lists parse problems (the text does not parse), not another invalid request. */
export function parseRejection(body: unknown): { detail: string; problems: ParseProblem[] } | null {
  if (!isRecord(body) || !Array.isArray(body.problems)) return null;
  const detail = typeof body.detail === "string" ? body.detail : "The strategy does not parse";
  return { detail, problems: body.problems as ParseProblem[] };
}

async function save(path: string, method: Method, body: StrategyCreate | StrategyUpdate): Promise<SaveOutcome> {
  const res = await requestRaw(path, { method, body, okStatuses: [422] }, "application/json");
  const answer: unknown = await res.json();
  if (res.status === 422) {
    const rejection = parseRejection(answer);
    if (rejection !== null) return { kind: "rejected", ...rejection };
    throw problemFromBody(res.status, res.statusText, answer);
  }
  return { kind: "saved", strategy: answer as Strategy };
}

/** Stores a new strategy (analysts and admins); a 409 problem when the name is taken. */
export function createStrategy(body: StrategyCreate): Promise<SaveOutcome> {
  return save(`${BASE}/create`, "POST", body);
}

/** Changes a strategy: a new version. */
export function updateStrategy(id: number, body: StrategyUpdate): Promise<SaveOutcome> {
  return save(`${BASE}/${id}`, "PUT", body);
}

export function deleteStrategy(id: number): Promise<void> {
  return requestVoid(`${BASE}/${id}`, { method: "DELETE" });
}

export function listVersions(id: number, signal?: AbortSignal): Promise<StrategyVersion[]> {
  return requestJson<StrategyVersion[]>(`${BASE}/${id}/versions`, { signal });
}

export function listRuns(id: number, signal?: AbortSignal): Promise<StrategyRunSummary[]> {
  return requestJson<StrategyRunSummary[]>(`${BASE}/${id}/runs`, { signal });
}

/** Starts a backtest (202): the run to follow. */
export function applyStrategy(body: BacktestRequest): Promise<RunAccepted> {
  return requestJson<RunAccepted>(`${BASE}/apply`, { method: "POST", body });
}

export function startSweep(body: SweepRequest): Promise<RunAccepted> {
  return requestJson<RunAccepted>(`${BASE}/sweep`, { method: "POST", body });
}

export function startWalkForward(body: WalkForwardRequest): Promise<RunAccepted> {
  return requestJson<RunAccepted>(`${BASE}/walk-forward`, { method: "POST", body });
}

/** Which of a run's trades to send (the server's default: the first 1000). */
export interface TradesWindow {
  offset: number;
  limit: number;
}

/** A run, with the page of its trades `trades` asks for (`trades_total` counts them all). */
export function getRun(runId: string, signal?: AbortSignal, trades?: TradesWindow): Promise<StrategyRun> {
  const page = trades !== undefined ? `?trades_limit=${trades.limit}&trades_offset=${trades.offset}` : "";
  return requestJson<StrategyRun>(`${BASE}/runs/${encodeURIComponent(runId)}${page}`, { signal });
}

/** A run's equity curve, at most `points` points (each bucket's lowest point and its last). */
export function getEquity(runId: string, points: number, signal?: AbortSignal): Promise<EquityCurve> {
  return requestJson<EquityCurve>(`${BASE}/runs/${encodeURIComponent(runId)}/equity?points=${points}`, { signal });
}
