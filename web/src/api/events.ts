/**
 * Events the server pushes over the live socket (`/api/v1/ws`). They mirror `schemas/events.py`;
 * WebSocket messages are not in the OpenAPI document, so the one not derived from it is written here.
 */
import type { FetchProgressEvent } from "./types";

/** A `stock_update` event: a live minute bar of one symbol (`StockUpdate`). */
export interface StockUpdate {
  type: "stock_update";
  symbol: string;
  adjusted: boolean;
  /** Start of the minute, epoch ms UTC. */
  ts: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  vwap: number | null;
  transactions: number | null;
  /** The minute is over and stored; `false` while it is still forming. */
  closed: boolean;
  /** Stored series the bar belongs to, e.g. `["1m", "1d"]`. */
  series: string[];
  /** `polygon` or `synthetic`. */
  source: string;
}

/** One bucket's indicator values: `[ts (epoch ms UTC), value per output (null where undefined)]`. */
export type IndicatorPoint = [number, (number | null)[]];

/**
 * An `indicator_calculated` event (`IndicatorCalculated` in `schemas/indicators.py`): an indicator's
 * stored outputs over a series were computed, reused or extended. A live extension (`live`) carries
 * the changed buckets' values in `points`, so charts move with the live candle.
 */
export interface IndicatorCalculated {
  type: "indicator_calculated";
  symbol: string;
  adjusted: boolean;
  /** The stored series computed over (`1m`, `1d` …). */
  series: string;
  session: "regular" | "extended";
  /** Bucket width of the values (a chart's `x-k2q-bucket`). */
  timeframe: string;
  /** Canonical spec text, the key of its columns. */
  spec: string;
  /** `ind:<spec>:<output>` per output, in the order of each point's values. */
  columns: string[];
  rows: number;
  /** First bucket whose values are stable, epoch ms (`null`: the series is shorter than that). */
  stable_from: number | null;
  duration_ms: number;
  reused: boolean;
  live: boolean;
  /** Values of the minute still forming (not stored), sent at most once a second while it changes. */
  provisional?: boolean;
  points: IndicatorPoint[];
  job_id: string | null;
  owner: string | null;
}

/**
 * A `strategy_applied` event (`StrategyApplied` in `schemas/strategies.py`): a backtest, sweep or
 * walk-forward run finished (or failed); sent to its owner and the admins.
 */
export interface StrategyApplied {
  type: "strategy_applied";
  run_id: string;
  kind: "backtest" | "sweep" | "walk_forward";
  status: "queued" | "running" | "complete" | "failed";
  strategy_id: number;
  strategy_name: string;
  strategy_version: number;
  symbol: string | null;
  timeframe: string | null;
  owner: string;
  job_id?: string | null;
  metrics?: Record<string, number | null> | null;
  uses_future_data?: boolean | null;
  error?: string | null;
  duration_ms?: number | null;
}

/** Every event the server publishes (a union tagged by `type`). */
export type ServerEvent = FetchProgressEvent | StockUpdate | IndicatorCalculated | StrategyApplied;
