/**
 * Binds live minute bars to a loaded chart: each `stock_update` of the charted series is merged
 * into the last bar (or starts the next one) with lightweight-charts' `update`, and after a minute
 * closes the last bucket is reloaded from the server, which makes the merged bar exact.
 *
 * An update applies when the slice on the chart is drawn from a series the bar is stored in
 * (`series` holds its `sourceSeries`), it belongs to the session shown, and the loaded bars reach
 * the dataset's end (a chart scrolled into the past only learns that the dataset grew).
 */
import { fetchChartSlice } from "../api/endpoints/chartData";
import type { StockUpdate } from "../api/events";
import type { TradingSession } from "../api/types";
import { bucketMs, DAY_MS, TIMEFRAMES } from "../state/timeframe";
import { reusableBucket } from "./extend";
import { inRegularSession, type LiveMemo, mergeLiveMinute } from "./live";
import { type Bar, barsToSeries, tableToBars } from "./series";
import type { ChartHandles } from "./useChart";
import type { LiveSource } from "./useLiveBars";
import type { TimeWindow } from "./window";

const MINUTE_MS = 60_000;
/** Pause after a closed minute before the last bucket is reloaded (closes of many symbols bunch up). */
export const REFRESH_DELAY_MS = 300;
/** Retry pause while another slice request is in flight. */
const BUSY_RETRY_MS = 500;

/** What the binding needs of the loaded slice. */
export interface LiveLoaded {
  bars: readonly Bar[];
  timesMs: readonly number[];
  covered: TimeWindow;
  bucket: string;
  sourceSeries: string | null;
  /** Indicator specs the bars carry values of (a reload asks for them again). */
  indicators?: readonly string[];
  /** Projections the bars carry values of (a reload asks for them again; their future rows are not bars). */
  projections?: readonly string[];
}

export interface LiveBindingContext<T extends LiveLoaded> {
  handles: ChartHandles;
  /** What is on the chart now (`null` while nothing is). */
  loaded: () => T | null;
  /** Takes the bars after a live change (the chart is already drawn). */
  setLoaded: (next: T) => void;
  params: () => { table: string | null; adjusted: boolean; session: TradingSession; bounds: TimeWindow | null };
  /** The dataset now reaches `toMs` (exclusive end of its newest bar). */
  extendBounds: (toMs: number) => void;
  /** Whether another slice request is in flight (a reload wins over a live refresh). */
  busy: () => boolean;
  /** Bumped by every new slice: a refresh started before it is stale. */
  generation: () => number;
}

function draw(handles: ChartHandles, bar: Bar, historical = false): void {
  const series = barsToSeries([bar]);
  const candle = series.candles[0];
  const volume = series.volumes[0];
  if (candle === undefined || volume === undefined) return;
  handles.candles.update(candle, historical);
  handles.volume.update(volume, historical);
}

/** Starts applying `source`'s updates to the chart; returns the function that stops it. */
export function bindLive<T extends LiveLoaded>(source: LiveSource, ctx: LiveBindingContext<T>): () => void {
  let memo: LiveMemo | null = null;
  let memoFor: T | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;

  const accepts = (loaded: T, update: StockUpdate, session: TradingSession): boolean => {
    const series = loaded.sourceSeries;
    if (series === null || !update.series.includes(series)) return false;
    const intraday = (bucketMs(series) ?? DAY_MS) < DAY_MS;
    return !(session === "regular" && intraday && !inRegularSession(update.ts));
  };

  const apply = (update: StockUpdate): void => {
    const loaded = ctx.loaded();
    const p = ctx.params();
    if (loaded === null || p.table === null || loaded.bars.length === 0 || !accepts(loaded, update, p.session)) return;
    const boundsTo = p.bounds?.toMs ?? null;
    const atEdge = boundsTo === null || loaded.covered.toMs >= boundsTo - 1;
    if (update.closed) ctx.extendBounds(update.ts + MINUTE_MS);
    if (!atEdge) return;
    if (memoFor !== loaded) memo = null;
    const merged = mergeLiveMinute(loaded.bars, memo, update, loaded.bucket);
    if (merged === null) return;
    draw(ctx.handles, merged.bar);
    const reach = Math.max(loaded.covered.toMs, ctx.params().bounds?.toMs ?? 0);
    const next: T = {
      ...loaded,
      bars: merged.bars,
      timesMs: merged.appended ? [...loaded.timesMs, merged.bar.ts] : loaded.timesMs,
      covered: { fromMs: loaded.covered.fromMs, toMs: reach },
    };
    memo = merged.memo;
    memoFor = next;
    ctx.setLoaded(next);
    if (update.closed) schedule(REFRESH_DELAY_MS);
  };

  const schedule = (delay: number): void => {
    clearTimeout(timer);
    timer = setTimeout(() => void refresh(), delay);
  };

  /** Reloads the last bucket (and any after it) from the server and draws it. */
  const refresh = async (): Promise<void> => {
    const loaded = ctx.loaded();
    const p = ctx.params();
    const last = loaded?.bars[loaded.bars.length - 1];
    if (stopped || loaded === null || last === undefined || p.table === null) return;
    const timeframe = reusableBucket(loaded.bucket, TIMEFRAMES);
    if (timeframe === null) return;
    if (ctx.busy()) {
      schedule(BUSY_RETRY_MS);
      return;
    }
    const generation = ctx.generation();
    let fresh: Bar[];
    try {
      const slice = await fetchChartSlice({
        table: p.table,
        timeframe,
        from: last.ts,
        to: Math.ceil(Math.max(p.bounds?.toMs ?? 0, loaded.covered.toMs)),
        max_points: 100,
        adjusted: p.adjusted,
        session: p.session,
        ...(loaded.indicators !== undefined && loaded.indicators.length > 0 ? { indicators: [...loaded.indicators] } : {}),
        ...(loaded.projections !== undefined && loaded.projections.length > 0 ? { projections: [...loaded.projections] } : {}),
      });
      if (slice.bucket !== loaded.bucket) return;
      fresh = tableToBars(slice.table).filter((bar) => bar.ts >= last.ts);
    } catch {
      return; // the next closed minute tries again; the merged bar stays meanwhile
    }
    const now = ctx.loaded();
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- stopped meanwhile; TypeScript keeps its narrowing across `await`
    if (stopped || generation !== ctx.generation() || now === null || fresh.length === 0) return;
    const bars = [...now.bars];
    const timesMs = [...now.timesMs];
    for (const bar of fresh) {
      let index = bars.length - 1;
      while (index >= 0 && (bars[index]?.ts ?? -Infinity) > bar.ts) index -= 1;
      if (index >= 0 && bars[index]?.ts === bar.ts) {
        draw(ctx.handles, bar, index < bars.length - 1);
        bars[index] = bar;
      } else if (index === bars.length - 1) {
        draw(ctx.handles, bar);
        bars.push(bar);
        timesMs.push(bar.ts);
      }
    }
    // The minute still forming goes back on top of the exact bar of its bucket.
    const exact = memo !== null ? (fresh.find((bar) => bar.ts === memo?.bucketTs) ?? null) : null;
    if (memo !== null && exact !== null) {
      memo = { ...memo, base: exact };
      if (memo.forming !== null) {
        const forming = mergeLiveMinute(bars, { ...memo, forming: null }, memo.forming, now.bucket);
        if (forming !== null && !forming.appended) {
          draw(ctx.handles, forming.bar);
          bars[bars.length - 1] = forming.bar;
          memo = forming.memo;
        }
      }
    }
    const next: T = { ...now, bars, timesMs };
    memoFor = next;
    ctx.setLoaded(next);
  };

  const unsubscribe = source.subscribe(apply);
  return () => {
    stopped = true;
    clearTimeout(timer);
    unsubscribe();
  };
}
