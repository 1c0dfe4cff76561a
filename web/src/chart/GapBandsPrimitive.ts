/**
 * A lightweight-charts series primitive that shades a dataset's gaps behind the candles.
 *
 * It reads the bar times from the series it is attached to (so bars added live keep the bands
 * in place) and recomputes the bands when that data or the gaps change; each frame only maps
 * the bands in view to pixels (see `gapBands.ts`).
 */
import type {
  IPrimitivePaneRenderer,
  IPrimitivePaneView,
  ISeriesPrimitive,
  Logical,
  PrimitivePaneViewZOrder,
  SeriesAttachedParameter,
  UTCTimestamp,
} from "lightweight-charts";

import { bandRects, type Band, gapBands, type GapSpan } from "./gapBands";

export const GAP_FILL = "rgba(240, 180, 41, 0.16)";
export const GAP_EDGE = "rgba(240, 180, 41, 0.85)";
/** A gap between two adjacent bars is drawn this wide (px), or 60 % of a bar's spacing if wider. */
const MIN_BAND_PX = 3;

type DrawTarget = Parameters<IPrimitivePaneRenderer["draw"]>[0];

class BandsRenderer implements IPrimitivePaneRenderer {
  constructor(private readonly rects: readonly [number, number][]) {}

  draw(target: DrawTarget): void {
    target.useBitmapCoordinateSpace(({ context, horizontalPixelRatio, bitmapSize }) => {
      for (const [x1, x2] of this.rects) {
        const left = Math.round(x1 * horizontalPixelRatio);
        const width = Math.max(1, Math.round(x2 * horizontalPixelRatio) - left);
        context.fillStyle = GAP_FILL;
        context.fillRect(left, 0, width, bitmapSize.height);
        context.fillStyle = GAP_EDGE;
        context.fillRect(left, 0, width, Math.round(4 * horizontalPixelRatio));
      }
    });
  }
}

class BandsView implements IPrimitivePaneView {
  private rects: [number, number][] = [];

  constructor(private readonly source: GapBandsPrimitive) {}

  update(): void {
    this.rects = this.source.rectsInView();
  }

  zOrder(): PrimitivePaneViewZOrder {
    return "bottom";
  }

  renderer(): IPrimitivePaneRenderer | null {
    return this.rects.length > 0 ? new BandsRenderer(this.rects) : null;
  }
}

export class GapBandsPrimitive implements ISeriesPrimitive {
  private param: SeriesAttachedParameter | null = null;
  private gaps: readonly GapSpan[] = [];
  private bucketMs = 0;
  private bands: Band[] = [];
  /** Time (s) of the series' first bar, whose chart index offsets the bands. */
  private firstTime: number | null = null;
  private readonly views: readonly BandsView[] = [new BandsView(this)];

  private readonly onData = (): void => {
    this.recompute();
  };

  attached(param: SeriesAttachedParameter): void {
    this.param = param;
    param.series.subscribeDataChanged(this.onData);
    this.recompute();
  }

  detached(): void {
    this.param?.series.unsubscribeDataChanged(this.onData);
    this.param = null;
  }

  /** Shows `gaps` over bars of width `bucketMs`. */
  setGaps(gaps: readonly GapSpan[], bucketMs: number): void {
    this.gaps = gaps;
    this.bucketMs = bucketMs;
    this.recompute();
  }

  /** The bands computed for the current data (for tests and page hints). */
  currentBands(): readonly Band[] {
    return this.bands;
  }

  updateAllViews(): void {
    for (const view of this.views) view.update();
  }

  paneViews(): readonly IPrimitivePaneView[] {
    return this.views;
  }

  /** Pixel rectangles of the bands in the visible range. */
  rectsInView(): [number, number][] {
    const param = this.param;
    if (param === null || this.bands.length === 0) return [];
    const timeScale = param.chart.timeScale();
    const visible = timeScale.getVisibleLogicalRange();
    if (visible === null) return [];
    // Bands count bars of this series; the chart counts the points of every series: find where
    // this series' first bar sits. The chart maps whole indexes only: interpolate from there.
    const base = this.firstTime === null ? null : timeScale.timeToIndex(this.firstTime as UTCTimestamp);
    if (base === null) return [];
    const x0 = timeScale.logicalToCoordinate(base as number as Logical);
    const x1 = timeScale.logicalToCoordinate((base + 1) as Logical);
    if (x0 === null || x1 === null) return [];
    const spacing = x1 - x0;
    const toX = (index: number): number => x0 + index * spacing;
    const inView = { from: visible.from - base, to: visible.to - base };
    return bandRects(this.bands, inView, toX, Math.max(MIN_BAND_PX, 0.6 * spacing));
  }

  private recompute(): void {
    const param = this.param;
    if (param === null) return;
    const data = param.series.data();
    const first = data[0]?.time;
    this.firstTime = typeof first === "number" ? first : null;
    const times = data.map((d) => (typeof d.time === "number" ? d.time * 1000 : Number.NaN));
    this.bands = times.some(Number.isNaN) ? [] : gapBands(this.gaps, times, this.bucketMs);
    param.requestUpdate();
  }
}
