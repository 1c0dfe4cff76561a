/**
 * Projections on a chart (imperative): per projection a band (`projectionBand.ts`, the area between
 * lower and upper) and its median as a dashed line, both on the price pane and both reaching past
 * the last bar through their own data — the candlestick series never gets whitespace, which would
 * stop its last candle from following live updates (lightweight-charts issues #1932, #2012).
 *
 * What is drawn is summarised on the chart's container as `data-projections` (JSON: the candles'
 * count, how many of them are whitespace, the last candle's time, and per projection its median's
 * line style, its median and band points, and how many of them lie after the last candle), read
 * back from the chart itself so browser tests see what lightweight-charts holds; and, at every draw
 * (every live update of the bars), the last candle and volume bar the chart holds as
 * `data-last-candle` (JSON: time, close, high, low, volume), so they can tell that candle moves.
 */
import { type ISeriesApi, type LineData, LineSeries, LineStyle, MismatchDirection, type Time, type UTCTimestamp, type WhitespaceData } from "lightweight-charts";

import { type BandOptions, type BandPoint, BandView } from "./projectionBand";
import type { FuturePoint } from "./projectionRows";
import { type ProjectionPoint, projectionPoints, samePoints } from "./projectionPoints";
import { type Bar, priceFormatFor } from "./series";
import { type ChartHandles, isRemoved } from "./useChart";

export interface ProjectionStyle {
  id: string;
  /** The median's colour (`#rrggbb`); the band is a see-through fill of it. */
  color: string;
}

export interface ProjectionDrawing {
  /** Draws each projection's values at `bars` and after them (series whose points did not change are left alone). */
  draw: (bars: readonly Bar[], future: readonly FuturePoint[]) => void;
  /** Removes every series it drew. */
  remove: () => void;
}

interface Drawn {
  id: string;
  median: ISeriesApi<"Line">;
  band: ISeriesApi<"Custom", Time, BandPoint | WhitespaceData, BandOptions>;
  points: ProjectionPoint[];
  future: number;
}

/** `#rrggbb` at `alpha`. */
export function withAlpha(hex: string, alpha: number): string {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (m === null) return hex;
  const [r, g, b] = [m[1], m[2], m[3]].map((c) => parseInt(c ?? "0", 16));
  return `rgba(${r}, ${g}, ${b}, ${alpha})`;
}

const time = (ts: number): UTCTimestamp => Math.floor(ts / 1000) as UTCTimestamp;

function medianData(points: readonly ProjectionPoint[]): (LineData | WhitespaceData)[] {
  return points.map((p) => (p.median !== null ? { time: time(p.ts), value: p.median } : { time: time(p.ts) }));
}

function bandData(points: readonly ProjectionPoint[]): (BandPoint | WhitespaceData)[] {
  return points.map((p) => (p.lower !== null && p.upper !== null ? { time: time(p.ts), lower: Math.min(p.lower, p.upper), upper: Math.max(p.lower, p.upper) } : { time: time(p.ts) }));
}

function describe(handles: ChartHandles, drawn: readonly Drawn[]): string {
  const candles = handles.candles.data();
  const last = candles[candles.length - 1];
  const lastTime = typeof last?.time === "number" ? last.time : null;
  const after = (t: Time): boolean => lastTime !== null && typeof t === "number" && t > lastTime;
  return JSON.stringify({
    candles: candles.length,
    candleWhitespace: candles.filter((c) => !("close" in c)).length,
    lastCandle: lastTime,
    projections: drawn.map(({ id, median, band }) => {
      const line = median.data().filter((d) => "value" in d);
      const fill = band.data().filter((d) => "upper" in d);
      return {
        id,
        style: median.options().lineStyle === LineStyle.Dashed ? "dashed" : "solid",
        median: line.length,
        band: fill.length,
        futureMedian: line.filter((d) => after(d.time)).length,
        futureBand: fill.filter((d) => after(d.time)).length,
        lastTime: line[line.length - 1]?.time ?? null,
      };
    }),
  });
}

/** The last candle and volume bar the chart holds, as `data-last-candle` says them. */
function lastCandle(handles: ChartHandles): string {
  const candle = handles.candles.dataByIndex(Number.MAX_SAFE_INTEGER, MismatchDirection.NearestLeft);
  const volume = handles.volume.dataByIndex(Number.MAX_SAFE_INTEGER, MismatchDirection.NearestLeft);
  if (candle === null || !("close" in candle)) return "";
  return JSON.stringify({ time: candle.time, close: candle.close, high: candle.high, low: candle.low, volume: volume !== null && "value" in volume ? volume.value : null });
}

/**
 * Creates the series of `styles` on the chart's price pane. `reveal`: when a projection is first
 * drawn with points after the last bar while that bar is in view, the view widens to show them.
 */
export function drawProjections(handles: ChartHandles, styles: readonly ProjectionStyle[], reveal: (id: string) => boolean): ProjectionDrawing {
  const { chart, container } = handles;
  const drawn: Drawn[] = styles.map(({ id, color }) => {
    const band = chart.addCustomSeries(
      new BandView(),
      { color, fillColor: withAlpha(color, 0.14), edgeColor: withAlpha(color, 0.45), priceLineVisible: false, lastValueVisible: false },
      0,
    );
    const median = chart.addSeries(
      LineSeries,
      { color, lineWidth: 2, lineStyle: LineStyle.Dashed, priceLineVisible: false, lastValueVisible: false, crosshairMarkerRadius: 3 },
      0,
    );
    return { id, median, band, points: [], future: 0 };
  });

  const showFuture = (bars: number, future: number): void => {
    const scale = chart.timeScale();
    const range = scale.getVisibleLogicalRange();
    const lastIndex = bars - 1;
    if (range === null || lastIndex < 0 || range.to < lastIndex - 1 || range.from > lastIndex) return;
    const wanted = lastIndex + future + 2;
    if (range.to < wanted) scale.setVisibleLogicalRange({ from: range.from, to: wanted });
  };

  return {
    draw: (bars, future) => {
      let changed = false;
      let widest = 0;
      const last = bars[bars.length - 1];
      for (const d of drawn) {
        const next = projectionPoints(bars, future, d.id);
        if (samePoints(d.points, next.points)) continue;
        changed = true;
        if (last !== undefined) {
          const format = priceFormatFor(last.close);
          d.median.applyOptions({ priceFormat: format });
          d.band.applyOptions({ priceFormat: format });
        }
        d.band.setData(bandData(next.points));
        d.median.setData(medianData(next.points));
        d.points = next.points;
        d.future = next.future;
        if (next.future > 0 && reveal(d.id)) widest = Math.max(widest, next.future);
      }
      if (widest > 0) showFuture(bars.length, widest);
      if (changed || container.dataset.projections === undefined) container.dataset.projections = describe(handles, drawn);
      container.dataset.lastCandle = lastCandle(handles);
    },
    remove: () => {
      if (isRemoved(chart)) return; // unmounted: its series went with it
      for (const { median, band } of drawn) {
        chart.removeSeries(median);
        chart.removeSeries(band);
      }
      delete container.dataset.projections;
      delete container.dataset.lastCandle;
    },
  };
}
