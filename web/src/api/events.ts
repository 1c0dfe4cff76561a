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

/** Every event the server publishes (a union tagged by `type`). */
export type ServerEvent = FetchProgressEvent | StockUpdate;
