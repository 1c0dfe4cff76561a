/**
 * Arrow chart slice → lightweight-charts series data (pure).
 *
 * The slice has columns `ts` (timestamp, UTC), `open`, `high`, `low`, `close`, `volume`, then
 * maybe indicator outputs (`ind:<spec>:<output>`, see `indicators.ts`), a run's trades
 * (`trade:<run>:<column>`, see `tradeMarkers.ts`) and projections (`proj:<id>:<output>`, see
 * `projectionRows.ts`), which each bar carries in `extra`; other columns are ignored here. Rows
 * without prices (a projection's future buckets) are not bars. Rows come out strictly ascending in
 * time (the chart requires it): out-of-order rows are sorted and a repeated timestamp keeps its last row.
 */
import type { Table } from "apache-arrow";
import type { CandlestickData, HistogramData, UTCTimestamp } from "lightweight-charts";

import { indicatorColumns } from "./indicators";
import { isProjectionColumn } from "./projectionRows";
import { isTradeColumn } from "./tradeMarkers";

export interface Bar {
  /** Epoch ms UTC. */
  ts: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  /** Indicator outputs at this bar by column name (`null` where undefined); absent without any. */
  extra?: Readonly<Record<string, number | null>>;
}

export interface SeriesData {
  candles: CandlestickData<UTCTimestamp>[];
  volumes: HistogramData<UTCTimestamp>[];
  /** Bar times in epoch ms, ascending (index = the chart's logical index). */
  timesMs: number[];
}

export const UP_COLOR = "#26a69a";
export const DOWN_COLOR = "#ef5350";
const UP_VOLUME = "rgba(38, 166, 154, 0.45)";
const DOWN_VOLUME = "rgba(239, 83, 80, 0.45)";

const REQUIRED = ["ts", "open", "high", "low", "close"] as const;

interface Column {
  get(index: number): unknown;
}

function toNumber(value: unknown): number | null {
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value === "bigint") return Number(value);
  if (value instanceof Date) return value.getTime();
  return null;
}

/**
 * Reads bars from an Arrow table. Timestamps of any unit arrive as epoch ms (apache-arrow
 * converts); rows with a missing time or price are skipped; a missing volume is 0; indicator,
 * trade and projection columns land in each bar's `extra`.
 */
export function tableToBars(table: Pick<Table, "getChild" | "numRows" | "schema">): Bar[] {
  const columns: Partial<Record<(typeof REQUIRED)[number] | "volume", Column>> = {};
  for (const name of [...REQUIRED, "volume"] as const) {
    const child = table.getChild(name);
    if (child !== null) columns[name] = child;
  }
  const missing = REQUIRED.filter((name) => columns[name] === undefined);
  if (missing.length > 0) throw new Error(`Chart slice lacks column(s): ${missing.join(", ")}`);
  const { ts, open, high, low, close, volume } = columns;
  if (ts === undefined || open === undefined || high === undefined || low === undefined || close === undefined) {
    return [];
  }
  const extras: [string, Column][] = [];
  const names = table.schema.fields.map((f) => f.name);
  const keys = [...indicatorColumns(table.schema).map((c) => c.key), ...names.filter((name) => isTradeColumn(name) || isProjectionColumn(name))];
  for (const key of keys) {
    const child = table.getChild(key);
    if (child !== null) extras.push([key, child]);
  }
  const bars: Bar[] = [];
  for (let i = 0; i < table.numRows; i += 1) {
    const t = toNumber(ts.get(i));
    const o = toNumber(open.get(i));
    const h = toNumber(high.get(i));
    const l = toNumber(low.get(i));
    const c = toNumber(close.get(i));
    if (t === null || o === null || h === null || l === null || c === null) continue;
    const bar: Bar = { ts: t, open: o, high: h, low: l, close: c, volume: volume === undefined ? 0 : (toNumber(volume.get(i)) ?? 0) };
    if (extras.length > 0) {
      const extra: Record<string, number | null> = {};
      for (const [key, column] of extras) extra[key] = toNumber(column.get(i));
      bar.extra = extra;
    }
    bars.push(bar);
  }
  return normalizeBars(bars);
}

/** Sorts by time (if needed) and keeps the last bar of any repeated timestamp. */
export function normalizeBars(bars: Bar[]): Bar[] {
  let sorted = true;
  for (let i = 1; i < bars.length; i += 1) {
    const prev = bars[i - 1];
    const cur = bars[i];
    if (prev !== undefined && cur !== undefined && cur.ts <= prev.ts) {
      sorted = false;
      break;
    }
  }
  if (sorted) return bars;
  const ordered = bars.map((bar, index) => ({ bar, index })).sort((a, b) => a.bar.ts - b.bar.ts || a.index - b.index);
  const out: Bar[] = [];
  for (const { bar } of ordered) {
    const last = out[out.length - 1];
    if (last !== undefined && last.ts === bar.ts) out[out.length - 1] = bar;
    else out.push(bar);
  }
  return out;
}

/** Candles and coloured volume bars for lightweight-charts (time in whole seconds, UTC). */
export function barsToSeries(bars: readonly Bar[]): SeriesData {
  const candles: CandlestickData<UTCTimestamp>[] = new Array<CandlestickData<UTCTimestamp>>(bars.length);
  const volumes: HistogramData<UTCTimestamp>[] = new Array<HistogramData<UTCTimestamp>>(bars.length);
  const timesMs: number[] = new Array<number>(bars.length);
  bars.forEach((bar, i) => {
    const time = Math.floor(bar.ts / 1000) as UTCTimestamp;
    candles[i] = { time, open: bar.open, high: bar.high, low: bar.low, close: bar.close };
    volumes[i] = { time, value: bar.volume, color: bar.close >= bar.open ? UP_VOLUME : DOWN_VOLUME };
    timesMs[i] = bar.ts;
  });
  return { candles, volumes, timesMs };
}

/**
 * A price format whose precision suits the prices shown (sub-penny for cheap instruments).
 *
 * @example priceFormatFor(0.0123) // { type: "price", precision: 5, minMove: 0.00001 }
 */
export function priceFormatFor(price: number): { type: "price"; precision: number; minMove: number } {
  const abs = Math.abs(price);
  const precision = abs >= 1 || abs === 0 ? 2 : abs >= 0.1 ? 4 : abs >= 0.01 ? 5 : 6;
  return { type: "price", precision, minMove: Number((10 ** -precision).toFixed(precision)) };
}
