/**
 * A backtest's trades as markers on the candles (pure). Chart-data asked with a `run_id` answers four
 * columns per bucket (null where nothing happened), which each bar carries in `extra`:
 *
 * - `trade:<run>:entry`: signed units of the trades entered in the bucket (> 0 long, < 0 short);
 * - `trade:<run>:entry_price`: their entry fill;
 * - `trade:<run>:exit`: the P&L of the trades exited in the bucket;
 * - `trade:<run>:exit_price`: their exit fill.
 *
 * An entry is an arrow at its fill, up for a long and down for a short; an exit a circle at its fill,
 * green for a gain and red for a loss. Without a fill price a marker sits below or above the bar.
 */
import type { SeriesMarker, Time, UTCTimestamp } from "lightweight-charts";

import type { Bar } from "./series";
import { formatCompact } from "./time";

export const TRADE_PREFIX = "trade:";
export const LONG_COLOR = "#26a69a";
export const SHORT_COLOR = "#ef5350";
export const GAIN_COLOR = "#22c55e";
export const LOSS_COLOR = "#f87171";
/** Markers get their words (`L`, `S`, the P&L) only while there are at most this many trades in view. */
export const LABELLED_TRADES = 40;

export type TradeColumn = "entry" | "entry_price" | "exit" | "exit_price";

/** The name of a run's trade column: `trade:<run>:entry` … */
export function tradeColumn(runId: string, column: TradeColumn): string {
  return `${TRADE_PREFIX}${runId}:${column}`;
}

/** Whether an Arrow column holds trades (it goes into each bar's `extra`). */
export function isTradeColumn(name: string): boolean {
  return name.startsWith(TRADE_PREFIX);
}

export interface TradeMarkerCounts {
  entries: number;
  exits: number;
}

function value(bar: Bar, key: string): number | null {
  const v = bar.extra?.[key];
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

/** A P&L as a marker's words: `+12.5`, `-3.2`, `+1.2K`. */
export function pnlText(pnl: number): string {
  const sign = pnl >= 0 ? "+" : "-";
  const abs = Math.abs(pnl);
  return sign + (abs >= 10_000 ? formatCompact(abs) : abs >= 100 ? abs.toFixed(0) : abs.toFixed(2));
}

/** The markers of run `runId`'s trades in `bars` (ascending), in time order: in each bar the exit before the entry. */
export function tradeMarkers(bars: readonly Bar[], runId: string, labelled?: boolean): SeriesMarker<Time>[] {
  const keys = {
    entry: tradeColumn(runId, "entry"),
    entryPrice: tradeColumn(runId, "entry_price"),
    exit: tradeColumn(runId, "exit"),
    exitPrice: tradeColumn(runId, "exit_price"),
  };
  const found: { bar: Bar; entry: number | null; exit: number | null }[] = [];
  for (const bar of bars) {
    const entry = value(bar, keys.entry);
    const exit = value(bar, keys.exit);
    if ((entry !== null && entry !== 0) || exit !== null) found.push({ bar, entry: entry !== 0 ? entry : null, exit });
  }
  const words = labelled ?? found.length <= LABELLED_TRADES;
  const markers: SeriesMarker<Time>[] = [];
  for (const { bar, entry, exit } of found) {
    const time = Math.floor(bar.ts / 1000) as UTCTimestamp;
    if (exit !== null) {
      const price = value(bar, keys.exitPrice);
      const color = exit >= 0 ? GAIN_COLOR : LOSS_COLOR;
      const text = words ? pnlText(exit) : "";
      markers.push(
        price !== null
          ? { time, position: "atPriceMiddle", price, shape: "circle", color, text, size: 1 }
          : { time, position: "aboveBar", shape: "circle", color, text, size: 1 },
      );
    }
    if (entry !== null) {
      const price = value(bar, keys.entryPrice);
      const long = entry > 0;
      const color = long ? LONG_COLOR : SHORT_COLOR;
      const shape = long ? "arrowUp" : "arrowDown";
      const text = words ? (long ? "L" : "S") : "";
      if (price !== null) markers.push({ time, position: long ? "atPriceTop" : "atPriceBottom", price, shape, color, text, size: 1 });
      else markers.push({ time, position: long ? "belowBar" : "aboveBar", shape, color, text, size: 1 });
    }
  }
  return markers;
}

/** How many entries and exits `markers` hold (for the chart's `data-trade-markers`). */
export function countTradeMarkers(markers: readonly SeriesMarker<Time>[]): TradeMarkerCounts {
  let entries = 0;
  let exits = 0;
  for (const m of markers) {
    if (m.shape === "circle") exits += 1;
    else entries += 1;
  }
  return { entries, exits };
}

/** Says on the chart's container what it marks (`data-trade-markers`), or that it marks nothing (`null`). */
export function describeTradeMarkers(container: HTMLElement, runId: string | null, counts: TradeMarkerCounts | null): void {
  if (runId === null || counts === null) delete container.dataset.tradeMarkers;
  else container.dataset.tradeMarkers = JSON.stringify({ run: runId, ...counts });
}
