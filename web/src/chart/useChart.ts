/**
 * Owns one lightweight-charts chart: creates it when its container mounts, with a candlestick
 * series on the main pane and a volume histogram on its own lower pane, and removes it on
 * unmount. Everything else (data, subscriptions) binds to the handles this returns.
 */
import {
  CandlestickSeries,
  createChart,
  HistogramSeries,
  type IChartApi,
  type ISeriesApi,
  type Time,
} from "lightweight-charts";
import { useEffect, useState } from "react";

import { CANDLE_OPTIONS, CHART_OPTIONS, VOLUME_OPTIONS, VOLUME_PANE_STRETCH } from "./theme";
import { formatBarTime, formatTick } from "./time";

export interface ChartHandles {
  chart: IChartApi;
  candles: ISeriesApi<"Candlestick">;
  volume: ISeriesApi<"Histogram">;
  container: HTMLElement;
}

/** Time-axis and crosshair labels for bars of `bucketMs`, in ET (dates only for daily bars). */
export function applyTimeFormat(chart: IChartApi, bucketMs: number): void {
  const seconds = (time: Time): number | null => (typeof time === "number" ? time : null);
  chart.applyOptions({
    localization: {
      timeFormatter: (time: Time) => {
        if (typeof time === "number") return formatBarTime(time, bucketMs);
        return typeof time === "string" ? time : `${time.year}-${time.month}-${time.day}`;
      },
    },
    timeScale: {
      timeVisible: bucketMs < 86_400_000,
      secondsVisible: bucketMs < 60_000,
      tickMarkFormatter: (time: Time, tickType: number) => {
        const t = seconds(time);
        return t === null ? null : formatTick(t, tickType, bucketMs);
      },
    },
  });
}

const removedCharts = new WeakSet<IChartApi>();

/**
 * Whether `chart` was removed (its container unmounted). Hooks that clean up after it must not
 * touch a removed chart: calls on it schedule a redraw that fails on the disposed canvas.
 */
export function isRemoved(chart: IChartApi): boolean {
  return removedCharts.has(chart);
}

/** Creates the chart in `container` (a state-held element, so the effect re-runs when it mounts). */
export function useChart(container: HTMLElement | null): ChartHandles | null {
  const [handles, setHandles] = useState<ChartHandles | null>(null);

  useEffect(() => {
    if (container === null) return undefined;
    const chart = createChart(container, CHART_OPTIONS);
    const candles = chart.addSeries(CandlestickSeries, CANDLE_OPTIONS);
    const volume = chart.addSeries(HistogramSeries, VOLUME_OPTIONS, 1);
    chart.panes()[0]?.setStretchFactor(1 - VOLUME_PANE_STRETCH);
    chart.panes()[1]?.setStretchFactor(VOLUME_PANE_STRETCH);
    applyTimeFormat(chart, 86_400_000);
    // eslint-disable-next-line react-hooks/set-state-in-effect -- the chart needs the mounted container; its hooks need the chart
    setHandles({ chart, candles, volume, container });
    return () => {
      setHandles(null);
      removedCharts.add(chart);
      chart.remove();
    };
  }, [container]);

  return handles;
}
