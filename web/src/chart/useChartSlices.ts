/**
 * Binds chart-data slices to a chart: loads the first slice when the dataset or timeframe
 * changes, then watches the visible range (debounced) and loads a new slice when the user has
 * zoomed in or scrolled to the edge of the loaded bars (see `decideRefetch`). A newer request
 * aborts the one in flight. The visible time range is kept across each `setData`.
 */
import { useCallback, useEffect, useRef, useState } from "react";

import { fetchChartSlice } from "../api/chartData";
import { errorMessage, isAbortError } from "../api/problem";
import type { Timeframe } from "../api/types";
import { bucketMs, timeframeMs } from "../state/timeframe";
import { barsToSeries, type Bar, priceFormatFor, tableToBars } from "./series";
import { applyTimeFormat, type ChartHandles } from "./useChart";
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
  timeframe: Timeframe;
  /** Split-adjusted prices (the dataset's own setting). */
  adjusted: boolean;
  /** Everything the dataset holds; `null` when unknown or empty. */
  bounds: TimeWindow | null;
  /** The window to show on (re)load, e.g. from the URL; `null` shows the whole dataset. */
  initialView: TimeWindow | null;
  /** Called (debounced) with the visible time window after each pan or zoom. */
  onViewChange?: (view: TimeWindow) => void;
}

export interface SliceState {
  /** Bars currently set on the chart. */
  bars: number;
  /** Bar width the server used for the current slice (`X-K2Q-Bucket`). */
  bucket: string | null;
  loading: boolean;
  error: string | null;
  truncated: boolean;
  rows: number | null;
  sourceSeries: string | null;
  lastBar: Bar | null;
}

const INITIAL: SliceState = { bars: 0, bucket: null, loading: false, error: null, truncated: false, rows: null, sourceSeries: null, lastBar: null };

/** Which time range to show after a slice is set. */
type Keep = { kind: "fit" } | { kind: "window"; window: TimeWindow } | { kind: "current"; fallback: TimeWindow };

function currentView(handles: ChartHandles, loaded: LoadedSlice | null): TimeWindow | null {
  const logical = handles.chart.timeScale().getVisibleLogicalRange();
  if (loaded === null || logical === null || loaded.timesMs.length === 0) return null;
  return visibleTimeWindow(loaded.timesMs, logical, loaded.bucketMs);
}

function chartWidth(handles: ChartHandles): number {
  const width = handles.chart.timeScale().width();
  return width > 0 ? width : handles.container.clientWidth;
}

export function useChartSlices(handles: ChartHandles | null, params: SliceParams): SliceState {
  const [state, setState] = useState<SliceState>(INITIAL);
  const paramsRef = useRef(params);
  const loadedRef = useRef<LoadedSlice | null>(null);
  const abortRef = useRef<AbortController | null>(null);
  const pendingRef = useRef<TimeWindow | null>(null);

  useEffect(() => {
    paramsRef.current = params;
  });

  const load = useCallback(async (h: ChartHandles, window: TimeWindow, keep: Keep): Promise<void> => {
    const p = paramsRef.current;
    if (p.table === null) return;
    abortRef.current?.abort();
    const controller = new AbortController();
    abortRef.current = controller;
    pendingRef.current = window;
    setState((s) => ({ ...s, loading: true, error: null }));
    try {
      const slice = await fetchChartSlice(
        {
          table: p.table,
          timeframe: p.timeframe,
          from: Math.floor(window.fromMs),
          to: Math.ceil(window.toMs),
          max_points: maxPointsForWidth(chartWidth(h)),
          adjusted: p.adjusted,
        },
        controller.signal,
      );
      if (controller.signal.aborted) return;
      const bars = tableToBars(slice.table);
      if (bars.length === 0 && keep.kind === "window" && p.bounds !== null) {
        // A shared link into a window without bars: show the whole dataset instead.
        void load(h, p.bounds, { kind: "fit" });
        return;
      }
      const series = barsToSeries(bars);
      const bucket = slice.bucket ?? p.timeframe;
      const width = bucketMs(bucket) ?? timeframeMs(p.timeframe);
      const view = keep.kind === "window" ? keep.window : keep.kind === "current" ? (currentView(h, loadedRef.current) ?? keep.fallback) : null;

      applyTimeFormat(h.chart, width);
      const lastBar = bars[bars.length - 1] ?? null;
      if (lastBar !== null) h.candles.applyOptions({ priceFormat: priceFormatFor(lastBar.close) });
      h.candles.setData(series.candles);
      h.volume.setData(series.volumes);
      const loaded: LoadedSlice = { request: window, timesMs: series.timesMs, bucketMs: width, truncated: slice.truncated };
      loadedRef.current = loaded;
      if (view === null || bars.length === 0) {
        h.chart.timeScale().fitContent();
      } else {
        const range = { from: timeToLogical(loaded.timesMs, view.fromMs, width), to: timeToLogical(loaded.timesMs, view.toMs, width) };
        h.chart.timeScale().setVisibleLogicalRange(range);
      }
      setState({
        bars: bars.length,
        bucket,
        loading: false,
        error: null,
        truncated: slice.truncated,
        rows: slice.rows,
        sourceSeries: slice.sourceSeries,
        lastBar,
      });
    } catch (error) {
      if (controller.signal.aborted || isAbortError(error)) return;
      setState((s) => ({ ...s, loading: false, error: errorMessage(error) }));
    } finally {
      if (abortRef.current === controller) {
        abortRef.current = null;
        pendingRef.current = null;
      }
    }
  }, []);

  // (Re)load when the chart, dataset, timeframe or dataset bounds change.
  const { table, timeframe } = params;
  const boundsFrom = params.bounds?.fromMs ?? null;
  const boundsTo = params.bounds?.toMs ?? null;
  useEffect(() => {
    if (handles === null) return undefined;
    loadedRef.current = null;
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
    };
  }, [handles, table, timeframe, boundsFrom, boundsTo, load]);

  // Follow pans and zooms.
  useEffect(() => {
    if (handles === null) return undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const evaluate = (): void => {
      const loaded = loadedRef.current;
      const p = paramsRef.current;
      const logical = handles.chart.timeScale().getVisibleLogicalRange();
      if (loaded === null || logical === null || loaded.timesMs.length === 0) return;
      const view = visibleTimeWindow(loaded.timesMs, logical, loaded.bucketMs);
      p.onViewChange?.(view);
      const decision = decideRefetch({
        loaded,
        visible: logical,
        timeframeMs: timeframeMs(p.timeframe),
        bounds: p.bounds,
        maxPoints: maxPointsForWidth(chartWidth(handles)),
      });
      if (decision === null) return;
      const pending = pendingRef.current;
      if (pending !== null && sameWindow(pending, decision.window, loaded.bucketMs)) return;
      void load(handles, decision.window, { kind: "current", fallback: decision.visible });
    };
    const onRange = (): void => {
      clearTimeout(timer);
      timer = setTimeout(evaluate, DEBOUNCE_MS);
    };
    const timeScale = handles.chart.timeScale();
    timeScale.subscribeVisibleLogicalRangeChange(onRange);
    return () => {
      clearTimeout(timer);
      timeScale.unsubscribeVisibleLogicalRangeChange(onRange);
    };
  }, [handles, load]);

  return state;
}
