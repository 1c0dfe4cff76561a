/**
 * Indicator outputs on a chart (imperative): a series per line or histogram, overlays on the price
 * pane and each other indicator in a pane of its own below the volume pane with its reference
 * levels as price lines, and candlestick patterns as markers on the candles.
 *
 * What is drawn is summarised on the chart's container as `data-indicator-drawing` (JSON: the pane
 * count, each series' kind, pane and levels, the marker count), read back from the chart itself so
 * browser tests see what lightweight-charts holds.
 */
import {
  type AutoscaleInfo,
  createSeriesMarkers,
  HistogramSeries,
  type ISeriesApi,
  type ISeriesMarkersPluginApi,
  LineSeries,
  LineStyle,
  type Time,
} from "lightweight-charts";

import type { IndicatorLine } from "./indicatorLayout";
import { patternMarkers } from "./indicatorMarkers";
import { indicatorPoint, indicatorPoints } from "./indicatorPoints";
import { lastValue, type ValueOf } from "./indicators";
import { type Bar, priceFormatFor } from "./series";
import { INDICATOR_HISTOGRAM_OPTIONS, INDICATOR_LINE_OPTIONS, INDICATOR_PANE_STRETCH, LEVEL_LINE_OPTIONS } from "./theme";
import { type ChartHandles, isRemoved } from "./useChart";

type IndicatorSeries = ISeriesApi<"Line"> | ISeriesApi<"Histogram">;

interface Drawn {
  line: IndicatorLine;
  series: IndicatorSeries;
}

export interface IndicatorDrawing {
  /** Draws `bars`' values: all of them, or (`from`) only those from that index on, as live bars change. */
  draw: (bars: readonly Bar[], valueOf: ValueOf, from: number | null) => void;
  /** Redraws the outputs `keys` at the bars starting at `timestamps` (live values that came). */
  drawAt: (bars: readonly Bar[], valueOf: ValueOf, keys: ReadonlySet<string>, timestamps: readonly number[]) => void;
  /** Removes every series, price line and marker it drew. */
  remove: () => void;
}

const LINE_STYLES = { line: LineStyle.Solid, dashed: LineStyle.Dashed, dotted: LineStyle.Dotted } as const;

/** Keeps an indicator pane's levels in view (RSI 30/70 even while RSI stays between them). */
function withLevels(levels: readonly number[]) {
  return (base: () => AutoscaleInfo | null): AutoscaleInfo | null => {
    const info = base();
    if (info?.priceRange == null) return info;
    const { minValue, maxValue } = info.priceRange;
    return { ...info, priceRange: { minValue: Math.min(minValue, ...levels), maxValue: Math.max(maxValue, ...levels) } };
  };
}

function addSeries(handles: ChartHandles, line: IndicatorLine, pane: number): IndicatorSeries {
  if (line.kind === "histogram") return handles.chart.addSeries(HistogramSeries, { ...INDICATOR_HISTOGRAM_OPTIONS, color: line.color }, pane);
  const lineStyle = line.kind === "dashed" || line.kind === "dotted" ? LINE_STYLES[line.kind] : LINE_STYLES.line;
  return handles.chart.addSeries(LineSeries, { ...INDICATOR_LINE_OPTIONS, color: line.color, lineStyle }, pane);
}

/** Index of the bar starting at `ts` in ascending `bars`, or -1. */
function barIndex(bars: readonly Bar[], ts: number): number {
  let lo = 0;
  let hi = bars.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const at = bars[mid]?.ts ?? 0;
    if (at === ts) return mid;
    if (at < ts) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

function describe(handles: ChartHandles, drawn: readonly Drawn[], markers: ISeriesMarkersPluginApi<Time> | null): string {
  return JSON.stringify({
    panes: handles.chart.panes().length,
    series: drawn.map(({ line, series }) => ({
      key: line.column.key,
      kind: series.seriesType(),
      pane: series.getPane().paneIndex(),
      levels: series.priceLines().map((p) => p.options().price),
    })),
    markers: markers?.markers().length ?? 0,
  });
}

/** Creates the series of `lines` on the chart (indicator panes below every pane there is). */
export function drawIndicators(handles: ChartHandles, lines: readonly IndicatorLine[]): IndicatorDrawing {
  const { chart, container } = handles;
  const firstPane = chart.panes().length;
  const drawn: Drawn[] = [];
  const withLevelLines = new Set<number>();
  for (const line of lines) {
    if (line.kind === "markers") continue;
    const pane = line.paneGroup === null ? 0 : firstPane + line.paneGroup;
    const series = addSeries(handles, line, pane);
    const levels = line.column.levels;
    if (line.paneGroup !== null && levels.length > 0 && !withLevelLines.has(pane)) {
      withLevelLines.add(pane);
      for (const price of levels) series.createPriceLine({ ...LEVEL_LINE_OPTIONS, price, lineStyle: LineStyle.Dashed });
      series.applyOptions({ autoscaleInfoProvider: withLevels(levels) });
    }
    drawn.push({ line, series });
  }
  for (const pane of chart.panes().slice(firstPane)) pane.setStretchFactor(INDICATOR_PANE_STRETCH);
  const patterns = lines.filter((line) => line.kind === "markers");
  const markers = patterns.length > 0 ? createSeriesMarkers<Time>(handles.candles, []) : null;
  const summarise = (): void => {
    container.dataset.indicatorDrawing = describe(handles, drawn, markers);
  };
  summarise();

  const drawMarkers = (bars: readonly Bar[], valueOf: ValueOf): void => {
    if (markers === null) return;
    markers.setMarkers(patternMarkers(bars, patterns, valueOf));
    summarise();
  };

  return {
    draw: (bars, valueOf, from) => {
      for (const { line, series } of drawn) {
        if (from !== null) {
          for (const bar of bars.slice(from)) series.update(indicatorPoint(bar, line, valueOf));
          continue;
        }
        const last = lastValue(bars, line.column.key, valueOf);
        if (last !== null) series.applyOptions({ priceFormat: priceFormatFor(last) });
        series.setData(indicatorPoints(bars, line, valueOf));
      }
      drawMarkers(bars, valueOf);
    },
    drawAt: (bars, valueOf, keys, timestamps) => {
      const indices = timestamps.map((ts) => barIndex(bars, ts)).filter((i) => i >= 0);
      indices.sort((a, b) => a - b);
      for (const { line, series } of drawn) {
        if (!keys.has(line.column.key)) continue;
        for (const index of indices) {
          const bar = bars[index];
          if (bar !== undefined) series.update(indicatorPoint(bar, line, valueOf), index < bars.length - 1);
        }
      }
      if (patterns.some((line) => keys.has(line.column.key))) drawMarkers(bars, valueOf);
    },
    remove: () => {
      if (isRemoved(chart)) return; // unmounted: its series went with it
      markers?.detach();
      for (const { series } of drawn) {
        try {
          chart.removeSeries(series); // emptied indicator panes go with their last series
        } catch {
          // Already gone with a pane removed before it.
        }
      }
      delete container.dataset.indicatorDrawing;
    },
  };
}
