/**
 * Draws a backtest's trades on the candles (`tradeMarkers.ts`) from the bars' trade columns, and
 * removes them with the run or the chart. What is drawn is summarised on the chart's container as
 * `data-trade-markers` (JSON: the run, its entries and exits in the loaded bars) for browser tests.
 */
import { createSeriesMarkers, type ISeriesMarkersPluginApi, type Time } from "lightweight-charts";
import { useEffect, useRef } from "react";

import type { Bar } from "./series";
import { countTradeMarkers, describeTradeMarkers, tradeMarkers } from "./tradeMarkers";
import { type ChartHandles, isRemoved } from "./useChart";

export function useTradeMarkers(handles: ChartHandles | null, bars: readonly Bar[], runId: string | null): void {
  const pluginRef = useRef<ISeriesMarkersPluginApi<Time> | null>(null);

  useEffect(() => {
    if (handles === null || runId === null) return undefined;
    const plugin = createSeriesMarkers<Time>(handles.candles, []);
    pluginRef.current = plugin;
    return () => {
      pluginRef.current = null;
      describeTradeMarkers(handles.container, null, null);
      if (!isRemoved(handles.chart)) plugin.detach();
    };
  }, [handles, runId]);

  useEffect(() => {
    const plugin = pluginRef.current;
    if (handles === null || runId === null || plugin === null) return;
    const markers = tradeMarkers(bars, runId);
    plugin.setMarkers(markers);
    describeTradeMarkers(handles.container, runId, countTradeMarkers(markers));
  }, [handles, bars, runId]);
}
