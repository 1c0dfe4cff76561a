/**
 * Binds chart-data slices to a chart: loads the first slice when the dataset, timeframe or
 * session changes, then follows the visible range:
 *
 * - near an edge of the loaded bars (behind which the dataset holds more), the slice beyond it is
 *   loaded at the same bucket and merged in without moving the view (`extend.ts`) — at once for
 *   the left edge, even mid-drag (prepending keeps lightweight-charts' right offset), and after
 *   the pointer is released and the view settles for the right edge;
 * - zoomed in or out past what the bucket suits (`decideRefetch`), a new padded slice replaces
 *   the bars, keeping the visible time range.
 *
 * One request at a time: a new slice aborts whatever is in flight, an extension waits its turn,
 * and answers for an older dataset, timeframe or session are dropped.
 *
 * Every request (first slice, extensions) asks for the same indicators, whose outputs each bar
 * carries (`Bar.extra`), the same strategy run, whose trades each bar carries too (`trade:*`
 * columns), and the same projections (`proj:*` columns), whose future buckets — rows after the last
 * bar, without prices — are kept apart as `future` and never become candles (`projectionRows.ts`);
 * a new list of indicators, another run or other projections reload the window in view. When the server
 * refuses a spec (422), the specs are tried one by one to find which, and those are handed to
 * `onRejectedIndicators` (which drops them) instead of failing the chart.
 *
 * This stays outside TanStack Query on purpose. What the chart shows is not one server answer per
 * key but bars built up over requests (extensions merged in, live minutes folded into the last
 * bar), each answer applied to the chart imperatively and in order with the view it keeps; a query
 * per window would cache every pan's decoded Arrow table and could not express "one request at a
 * time, extensions wait, older answers are dropped". Repeated windows are already cheap: the
 * endpoint keeps the last answers' bytes and asks again with `If-None-Match` (`chartData.ts`).
 */
import { useCallback, useEffect, useRef, useState } from "react";

import { fetchChartSlice } from "../api/endpoints/chartData";
import { ApiError, errorMessage, isAbortError } from "../api/problem";
import type { Timeframe, TradingSession } from "../api/types";
import { bucketMs, TIMEFRAMES, timeframeMs } from "../state/timeframe";
import { type IndicatorColumn, indicatorColumns, type RejectedIndicator, rejectedIndicators } from "./indicators";
import { edgeToExtend, type ExtensionRequest, extensionRequest, mergeExtension, reusableBucket, type Side, trimPartialEdges } from "./extend";
import { bindLive } from "./liveBinding";
import { type FuturePoint, futureRows } from "./projectionRows";
import { type Bar, barsToSeries, priceFormatFor, tableToBars } from "./series";
import { applyTimeFormat, type ChartHandles } from "./useChart";
import type { LiveSource } from "./useLiveBars";
import {
  decideRefetch,
  type LoadedSlice,
  maxPointsForWidth,
  padWindow,
  sameWindow,
  type TimeWindow,
  timeToLogical,
  visibleTimeWindow,
} from "./window";

export const DEBOUNCE_MS = 250;

export interface SliceParams {
  table: string | null;
  /** The timeframe asked for; `null` lets the server pick the finest that fits (Auto). */
  timeframe: Timeframe | null;
  /** Width of the dataset's own bars, ms: the finest any view can get. */
  finestMs: number;
  /** Split-adjusted prices (the dataset's own setting). */
  adjusted: boolean;
  session: TradingSession;
  /** Everything the dataset holds; `null` when unknown or empty. */
  bounds: TimeWindow | null;
  /** The window to show on (re)load, e.g. from the URL; `null` shows the whole dataset. */
  initialView: TimeWindow | null;
  /** Called (debounced) with the visible time window after each pan or zoom. */
  onViewChange?: (view: TimeWindow) => void;
  /** Live minute bars of the dataset's symbol, merged into the last bar (`liveBinding.ts`). */
  live?: LiveSource | null;
  /** Indicator specs to join to the bars (`sma(20)`, `rsi`); none when absent. */
  indicators?: readonly string[];
  /** Called with the specs the server refused (the chart loads again once they are dropped). */
  onRejectedIndicators?: (rejected: RejectedIndicator[]) => void;
  /** A backtest run whose trades to join (`trade:<run>:*` columns); none when absent. */
  runId?: string | null;
  /** Projection ids whose values to join (`proj:<id>:*` columns, and their future buckets); none when absent. */
  projections?: readonly string[];
}

export interface SliceState {
  /** Bars currently set on the chart. */
  bars: number;
  /** The bars themselves, ascending (the chart's logical index `i` is `data[i]`). */
  data: readonly Bar[];
  /** Bar width the server used for the current slice (`X-K2Q-Bucket`). */
  bucket: string | null;
  /** The timeframe asked for, or the one the server picked (`X-K2Q-Timeframe`). */
  timeframe: string | null;
  /** Split-adjusted or raw, as the server said (`X-K2Q-Adjusted`); `null` when it did not. */
  adjusted: boolean | null;
  loading: boolean;
  /** The edge being loaded beyond, if any. */
  extending: Side | null;
  error: string | null;
  truncated: boolean;
  rows: number | null;
  sourceSeries: string | null;
  lastBar: Bar | null;
  /** The indicator output columns the bars carry (in `Bar.extra`), as the server named them. */
  indicators: readonly IndicatorColumn[];
  /** The indicator specs the slice was asked for, in order (the columns answer them in canonical form). */
  indicatorSpecs: readonly string[];
  /** The projections' buckets after the last bar (no prices: never candles), ascending. */
  future: readonly FuturePoint[];
}

const INITIAL: SliceState = {
  bars: 0,
  data: [],
  bucket: null,
  timeframe: null,
  adjusted: null,
  loading: false,
  extending: null,
  error: null,
  truncated: false,
  rows: null,
  sourceSeries: null,
  lastBar: null,
  indicators: [],
  indicatorSpecs: [],
  future: [],
};

/** Which time range to show after a slice is set. */
type Keep = { kind: "fit" } | { kind: "window"; window: TimeWindow } | { kind: "current"; fallback: TimeWindow };

/** What is on the chart. */
interface Current {
  bars: readonly Bar[];
  timesMs: readonly number[];
  /** The raw-bar window asked for so far (see `extend.ts`). */
  covered: TimeWindow;
  bucket: string;
  bucketMs: number;
  /** The stored series the bars were built from (`X-K2Q-Source-Series`). */
  sourceSeries: string | null;
  /** The indicator specs the bars were loaded with (extensions ask for the same). */
  indicators: readonly string[];
  /** The run whose trades the bars were loaded with (extensions ask for the same). */
  runId: string | null;
  /** The projections the bars were loaded with (extensions and live refreshes ask for the same). */
  projections: readonly string[];
  /** Their buckets after the last bar, from the latest answer that reached the end. */
  future: readonly FuturePoint[];
}

/** A chart-data body with `indicators`, `run_id` and `projections` added (each left out when there is none). */
function withIndicators<T extends object>(
  body: T,
  indicators: readonly string[],
  runId: string | null,
  projections: readonly string[],
): T & { indicators?: string[]; run_id?: string; projections?: string[] } {
  const withSpecs = indicators.length > 0 ? { ...body, indicators: [...indicators] } : body;
  const withRun = runId !== null ? { ...withSpecs, run_id: runId } : withSpecs;
  return projections.length > 0 ? { ...withRun, projections: [...projections] } : withRun;
}

/** What the columns joined to the bars depend on: the indicator specs, the run and the projections. */
function indicatorsKey(indicators: readonly string[] | undefined, runId: string | null | undefined, projections: readonly string[] | undefined): string {
  return [...(indicators ?? []), `run:${runId ?? ""}`, `proj:${(projections ?? []).join(",")}`].join("\n");
}

/** `params` with its bounds stretched to what live bars have added to the dataset since it was listed. */
function withLiveEnd(params: SliceParams, end: { table: string | null; toMs: number }): SliceParams {
  const bounds = params.bounds;
  if (bounds === null || end.table !== params.table || end.toMs <= bounds.toMs) return params;
  return { ...params, bounds: { fromMs: bounds.fromMs, toMs: end.toMs } };
}

function asSlice(current: Current): LoadedSlice {
  return { request: current.covered, timesMs: current.timesMs, bucketMs: current.bucketMs, truncated: false };
}

function currentView(handles: ChartHandles, loaded: Current | null): TimeWindow | null {
  const logical = handles.chart.timeScale().getVisibleLogicalRange();
  if (loaded === null || logical === null || loaded.timesMs.length === 0) return null;
  return visibleTimeWindow(loaded.timesMs, logical, loaded.bucketMs);
}

function chartWidth(handles: ChartHandles): number {
  const width = handles.chart.timeScale().width();
  return width > 0 ? width : handles.container.clientWidth;
}

/** Sets bars on the chart (candles, volume, time and price formats); returns their times. */
function applyBars(h: ChartHandles, bars: readonly Bar[], width: number): number[] {
  const series = barsToSeries(bars);
  applyTimeFormat(h.chart, width);
  const lastBar = bars[bars.length - 1];
  if (lastBar !== undefined) h.candles.applyOptions({ priceFormat: priceFormatFor(lastBar.close) });
  h.candles.setData(series.candles);
  h.volume.setData(series.volumes);
  return series.timesMs;
}

export function useChartSlices(handles: ChartHandles | null, params: SliceParams): SliceState {
  const [state, setState] = useState<SliceState>(INITIAL);
  const paramsRef = useRef(params);
  const loadedRef = useRef<Current | null>(null);
  /** The slice (replacing the bars) in flight. */
  const abortRef = useRef<AbortController | null>(null);
  /** The extension in flight. */
  const extendRef = useRef<AbortController | null>(null);
  const pendingRef = useRef<TimeWindow | null>(null);
  /** Bumped by every new slice: extensions started before it are stale. */
  const generationRef = useRef(0);
  /** Re-evaluates the view soon (after an extension, which may not move it). */
  const scheduleRef = useRef<() => void>(() => undefined);
  const dragRef = useRef<{ dragging: boolean; waiters: (() => void)[] }>({ dragging: false, waiters: [] });
  /** The last slice asked for, and with which indicators (to ask again when they change). */
  const lastLoadRef = useRef<{ window: TimeWindow; keep: Keep; indicators: string } | null>(null);

  /** How far live bars have stretched the dataset (its listed bounds are older). */
  const liveEndRef = useRef<{ table: string | null; toMs: number }>({ table: null, toMs: 0 });

  useEffect(() => {
    paramsRef.current = withLiveEnd(params, liveEndRef.current);
  });

  const whenReleased = useCallback((): Promise<void> => {
    const drag = dragRef.current;
    return drag.dragging ? new Promise((resolve) => drag.waiters.push(resolve)) : Promise.resolve();
  }, []);

  const load = useCallback(async (h: ChartHandles, window: TimeWindow, keep: Keep): Promise<void> => {
    const p = paramsRef.current;
    if (p.table === null) return;
    abortRef.current?.abort();
    extendRef.current?.abort();
    extendRef.current = null;
    const controller = new AbortController();
    abortRef.current = controller;
    pendingRef.current = window;
    generationRef.current += 1;
    const indicators = p.indicators ?? [];
    const runId = p.runId ?? null;
    const projections = p.projections ?? [];
    lastLoadRef.current = { window, keep, indicators: indicatorsKey(indicators, runId, projections) };
    setState((s) => ({ ...s, loading: true, extending: null, error: null }));
    const request = {
      table: p.table,
      timeframe: p.timeframe ?? undefined,
      from: Math.floor(window.fromMs),
      to: Math.ceil(window.toMs),
      max_points: maxPointsForWidth(chartWidth(h)),
      adjusted: p.adjusted,
      session: p.session,
    };
    try {
      const slice = await fetchChartSlice(withIndicators(request, indicators, runId, projections), controller.signal);
      if (controller.signal.aborted) return;
      const raw = tableToBars(slice.table);
      if (raw.length === 0 && keep.kind === "window" && p.bounds !== null) {
        // A shared link into a window without bars: show the whole dataset instead.
        void load(h, p.bounds, { kind: "fit" });
        return;
      }
      const bucket = slice.bucket ?? slice.timeframe ?? p.timeframe ?? "1d";
      const width = bucketMs(bucket) ?? (p.timeframe !== null ? timeframeMs(p.timeframe) : p.finestMs);
      const trimmed = trimPartialEdges(raw, { fromMs: Math.floor(window.fromMs), toMs: Math.ceil(window.toMs) }, p.bounds, bucket, width);
      const bars = trimmed.length > 0 ? trimmed : raw;
      const view = keep.kind === "window" ? keep.window : keep.kind === "current" ? (currentView(h, loadedRef.current) ?? keep.fallback) : null;

      const timesMs = applyBars(h, bars, width);
      const covered = { fromMs: slice.truncated ? Math.max(window.fromMs, bars[0]?.ts ?? window.fromMs) : window.fromMs, toMs: window.toMs };
      const future = futureRows(slice.table);
      const current: Current = { bars, timesMs, covered, bucket, bucketMs: width, sourceSeries: slice.sourceSeries, indicators, runId, projections, future };
      loadedRef.current = current;
      if (view === null || bars.length === 0) {
        h.chart.timeScale().fitContent();
      } else {
        const range = { from: timeToLogical(timesMs, view.fromMs, width), to: timeToLogical(timesMs, view.toMs, width) };
        h.chart.timeScale().setVisibleLogicalRange(range);
      }
      setState({
        bars: bars.length,
        data: bars,
        bucket,
        timeframe: slice.timeframe ?? p.timeframe,
        adjusted: slice.adjusted,
        loading: false,
        extending: null,
        error: null,
        truncated: slice.truncated,
        rows: slice.rows,
        sourceSeries: slice.sourceSeries,
        lastBar: bars[bars.length - 1] ?? null,
        indicators: indicatorColumns(slice.table.schema),
        indicatorSpecs: indicators,
        future,
      });
    } catch (error) {
      if (controller.signal.aborted || isAbortError(error)) return;
      const onRejected = p.onRejectedIndicators;
      if (error instanceof ApiError && error.status === 422 && indicators.length > 0 && onRejected !== undefined) {
        // Which spec? Each alone, over the window's last millisecond (the server checks specs first).
        const ask = (spec: string) => fetchChartSlice({ ...request, from: request.to - 1, max_points: 2, indicators: [spec] }, controller.signal);
        const rejected = await rejectedIndicators(indicators, ask);
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- aborted meanwhile; TypeScript keeps its narrowing across `await`
        if (controller.signal.aborted) return;
        if (rejected.length > 0) {
          setState((s) => ({ ...s, loading: false }));
          onRejected(rejected);
          return;
        }
      }
      setState((s) => ({ ...s, loading: false, error: errorMessage(error) }));
    } finally {
      if (abortRef.current === controller) {
        abortRef.current = null;
        pendingRef.current = null;
      }
    }
  }, []);

  const reloadView = useCallback(
    (h: ChartHandles): void => {
      const view = currentView(h, loadedRef.current);
      if (view !== null) void load(h, padWindow(view, paramsRef.current.bounds), { kind: "current", fallback: view });
    },
    [load],
  );

  const extend = useCallback(
    async (h: ChartHandles, request: ExtensionRequest): Promise<void> => {
      const p = paramsRef.current;
      const current = loadedRef.current;
      const timeframe = reusableBucket(current?.bucket ?? null, TIMEFRAMES);
      if (p.table === null || current === null || timeframe === null) return;
      if (abortRef.current !== null || extendRef.current !== null) return;
      const controller = new AbortController();
      extendRef.current = controller;
      const generation = generationRef.current;
      const stale = (): boolean => controller.signal.aborted || generation !== generationRef.current || loadedRef.current !== current;
      setState((s) => ({ ...s, extending: request.side }));
      try {
        const slice = await fetchChartSlice(
          withIndicators(
            {
              table: p.table,
              timeframe,
              from: request.window.fromMs,
              to: request.window.toMs,
              max_points: request.maxPoints,
              adjusted: p.adjusted,
              session: p.session,
            },
            current.indicators,
            current.runId,
            current.projections,
          ),
          controller.signal,
        );
        // Appending moves lightweight-charts' right offset, which a drag in progress would undo.
        if (!stale() && request.side === "right") await whenReleased();
        if (stale()) return;
        extendRef.current = null;
        if (slice.bucket !== current.bucket) {
          // The server would not keep the bucket: load the view afresh.
          reloadView(h);
          return;
        }
        const logical = h.chart.timeScale().getVisibleLogicalRange() ?? { from: 0, to: current.bars.length - 1 };
        const merged = mergeExtension(
          current,
          { side: request.side, window: request.window, bars: tableToBars(slice.table), truncated: slice.truncated },
          p.bounds,
          current.bucket,
          logical,
        );
        if (merged === null) {
          reloadView(h);
          return;
        }
        let timesMs = current.timesMs;
        if (merged.added !== 0 || merged.bars.length !== current.bars.length) {
          timesMs = applyBars(h, merged.bars, current.bucketMs);
          h.chart.timeScale().setVisibleLogicalRange({ from: logical.from + merged.shift, to: logical.to + merged.shift });
        }
        // An answer reaching the dataset's end brings the future buckets (again).
        const fresh = futureRows(slice.table);
        const future = fresh.length > 0 ? fresh : current.future;
        loadedRef.current = { ...current, bars: merged.bars, timesMs, covered: merged.covered, future };
        setState((s) => ({
          ...s,
          bars: merged.bars.length,
          data: merged.bars,
          extending: null,
          error: null,
          lastBar: merged.bars[merged.bars.length - 1] ?? null,
          future,
        }));
      } catch (error) {
        if (stale() || isAbortError(error)) return;
        setState((s) => ({ ...s, extending: null, error: errorMessage(error) }));
      } finally {
        if (extendRef.current === controller) extendRef.current = null;
        if (generation === generationRef.current) {
          setState((s) => (s.extending === null ? s : { ...s, extending: null }));
          scheduleRef.current();
        }
      }
    },
    [reloadView, whenReleased],
  );

  // (Re)load when the chart, dataset, timeframe, session or dataset bounds change.
  const { table, timeframe, session } = params;
  const boundsFrom = params.bounds?.fromMs ?? null;
  const boundsTo = params.bounds?.toMs ?? null;
  useEffect(() => {
    if (handles === null) return undefined;
    loadedRef.current = null;
    lastLoadRef.current = null;
    generationRef.current += 1;
    extendRef.current?.abort();
    extendRef.current = null;
    handles.candles.setData([]);
    handles.volume.setData([]);
    if (table === null) {
      setState(INITIAL);
      return undefined;
    }
    const bounds = boundsFrom !== null && boundsTo !== null ? { fromMs: boundsFrom, toMs: boundsTo } : null;
    const initial = paramsRef.current.initialView;
    setState({ ...INITIAL, loading: true });
    if (initial !== null) {
      void load(handles, padWindow(initial, bounds), { kind: "window", window: initial });
    } else if (bounds !== null) {
      void load(handles, bounds, { kind: "fit" });
    } else {
      setState({ ...INITIAL, error: "This dataset holds no bars yet." });
    }
    return () => {
      abortRef.current?.abort();
      extendRef.current?.abort();
    };
  }, [handles, table, timeframe, session, boundsFrom, boundsTo, load]);

  // A new list of indicators, another run or other projections: ask again for the window in view (or the slice that was asked for).
  const indicatorList = indicatorsKey(params.indicators, params.runId, params.projections);
  useEffect(() => {
    const last = lastLoadRef.current;
    if (handles === null || last === null || last.indicators === indicatorList) return;
    const view = currentView(handles, loadedRef.current);
    if (view !== null) void load(handles, padWindow(view, paramsRef.current.bounds), { kind: "current", fallback: view });
    else void load(handles, last.window, last.keep);
  }, [handles, indicatorList, load]);

  // Whether a drag is in progress (appending waits for its end).
  useEffect(() => {
    if (handles === null) return undefined;
    const drag = dragRef.current;
    const down = (): void => {
      drag.dragging = true;
    };
    const up = (): void => {
      drag.dragging = false;
      const waiters = drag.waiters.splice(0);
      for (const resolve of waiters) resolve();
    };
    handles.container.addEventListener("pointerdown", down);
    window.addEventListener("pointerup", up);
    window.addEventListener("pointercancel", up);
    window.addEventListener("blur", up);
    return () => {
      handles.container.removeEventListener("pointerdown", down);
      window.removeEventListener("pointerup", up);
      window.removeEventListener("pointercancel", up);
      window.removeEventListener("blur", up);
      up();
    };
  }, [handles]);

  // Follow pans and zooms.
  useEffect(() => {
    if (handles === null) return undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const check = (settled: boolean): void => {
      const loaded = loadedRef.current;
      const p = paramsRef.current;
      const logical = handles.chart.timeScale().getVisibleLogicalRange();
      if (loaded === null || logical === null || loaded.timesMs.length === 0) return;
      const view = visibleTimeWindow(loaded.timesMs, logical, loaded.bucketMs);
      const reusable = reusableBucket(loaded.bucket, TIMEFRAMES) !== null;
      if (settled) {
        p.onViewChange?.(view);
        const decision = decideRefetch({
          loaded: asSlice(loaded),
          visible: logical,
          timeframeMs: p.timeframe !== null ? timeframeMs(p.timeframe) : p.finestMs,
          bounds: p.bounds,
          maxPoints: maxPointsForWidth(chartWidth(handles)),
          edges: !reusable,
        });
        if (decision !== null) {
          const pending = pendingRef.current;
          if (pending !== null && sameWindow(pending, decision.window, loaded.bucketMs)) return;
          void load(handles, decision.window, { kind: "current", fallback: decision.visible });
          return;
        }
      }
      if (!reusable || p.bounds === null || abortRef.current !== null || extendRef.current !== null) return;
      const side = edgeToExtend(loaded.timesMs.length, logical, loaded.covered, p.bounds);
      // Prepending is safe mid-gesture; appending waits until the view has settled.
      if (side === null || (side === "right" && !settled)) return;
      const request = extensionRequest(side, loaded, p.bounds, view.toMs - view.fromMs);
      if (request !== null) void extend(handles, request);
    };
    const schedule = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => check(true), DEBOUNCE_MS);
    };
    const onRange = (): void => {
      check(false);
      schedule();
    };
    scheduleRef.current = schedule;
    const timeScale = handles.chart.timeScale();
    timeScale.subscribeVisibleLogicalRangeChange(onRange);
    return () => {
      clearTimeout(timer);
      scheduleRef.current = () => undefined;
      timeScale.unsubscribeVisibleLogicalRangeChange(onRange);
    };
  }, [handles, load, extend]);

  // Live minute bars: merged into the last bar as they come (`liveBinding.ts`).
  const subscribeLive = params.live?.subscribe ?? null;
  useEffect(() => {
    if (handles === null || subscribeLive === null) return undefined;
    return bindLive<Current>(
      { subscribe: subscribeLive },
      {
        handles,
        loaded: () => loadedRef.current,
        setLoaded: (next) => {
          loadedRef.current = next;
          setState((s) => ({ ...s, bars: next.bars.length, data: next.bars, lastBar: next.bars[next.bars.length - 1] ?? null }));
        },
        params: () => paramsRef.current,
        extendBounds: (toMs) => {
          const p = paramsRef.current;
          const end = liveEndRef.current;
          liveEndRef.current = { table: p.table, toMs: Math.max(end.table === p.table ? end.toMs : 0, toMs) };
          paramsRef.current = withLiveEnd(p, liveEndRef.current);
        },
        busy: () => abortRef.current !== null || extendRef.current !== null,
        generation: () => generationRef.current,
      },
    );
  }, [handles, subscribeLive]);

  return state;
}
