/**
 * Draws a slice's indicator outputs as line series: overlay outputs (moving averages, bands) on
 * the price pane with the candles, each other indicator (RSI, MACD…) in a pane of its own below
 * the volume pane. Owns those series: they are rebuilt when the set of columns changes, fed the
 * bars' values whenever the bars change (only the last points when only they changed, as live
 * bars do), and removed with the indicator or the chart.
 */
import { type ISeriesApi, LineSeries } from "lightweight-charts";
import { useEffect, useMemo, useRef } from "react";

import { changedTail, type IndicatorColumn, type IndicatorLine, lastValue, layoutIndicators, layoutKey, lineData } from "./indicators";
import { type Bar, priceFormatFor } from "./series";
import { INDICATOR_LINE_OPTIONS, INDICATOR_PANE_STRETCH } from "./theme";
import { type ChartHandles, isRemoved } from "./useChart";

export function useIndicatorLines(handles: ChartHandles | null, columns: readonly IndicatorColumn[], bars: readonly Bar[]): IndicatorLine[] {
  // A new slice brings new column objects; the lines only change with the layout (which `key` spells out).
  const key = layoutKey(columns);
  // eslint-disable-next-line react-hooks/exhaustive-deps -- `key` is `columns` as far as the layout goes
  const lines = useMemo(() => layoutIndicators(columns), [key]);
  const seriesRef = useRef(new Map<string, ISeriesApi<"Line">>());
  /** What the series were last given. */
  const drawnRef = useRef<{ series: Map<string, ISeriesApi<"Line">>; bars: readonly Bar[] } | null>(null);

  useEffect(() => {
    if (handles === null || lines.length === 0) return undefined;
    const { chart } = handles;
    // Indicator panes go below every pane there is (price, volume).
    const firstPane = chart.panes().length;
    const created = new Map<string, ISeriesApi<"Line">>();
    for (const line of lines) {
      const pane = line.paneGroup === null ? 0 : firstPane + line.paneGroup;
      const series = chart.addSeries(LineSeries, { ...INDICATOR_LINE_OPTIONS, color: line.color }, pane);
      created.set(line.column.key, series);
    }
    for (const pane of chart.panes().slice(firstPane)) pane.setStretchFactor(INDICATOR_PANE_STRETCH);
    seriesRef.current = created;
    return () => {
      seriesRef.current = new Map();
      if (isRemoved(chart)) return; // unmounted: its series went with it
      for (const series of created.values()) {
        try {
          chart.removeSeries(series); // emptied indicator panes go with their last series
        } catch {
          // Already gone with a pane removed before it.
        }
      }
    };
  }, [handles, lines]);

  useEffect(() => {
    const current = seriesRef.current;
    const drawn = drawnRef.current;
    const from = drawn !== null && drawn.series === current ? changedTail(drawn.bars, bars) : null;
    for (const line of lines) {
      const series = current.get(line.column.key);
      if (series === undefined) continue;
      if (from !== null) {
        for (const point of lineData(bars.slice(from), line.column.key)) series.update(point);
        continue;
      }
      const last = lastValue(bars, line.column.key);
      if (last !== null) series.applyOptions({ priceFormat: priceFormatFor(last) });
      series.setData(lineData(bars, line.column.key));
    }
    drawnRef.current = { series: current, bars };
  }, [handles, lines, bars]);

  return lines;
}
