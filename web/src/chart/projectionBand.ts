/**
 * A projection's band as a lightweight-charts custom series: the area between `lower` and `upper`
 * filled, its edges drawn thin. A series of its own (not a primitive on the candles) so that its
 * future times reach the chart's time scale through its own data, leaving the candlestick series
 * free of whitespace.
 */
import {
  type CustomData,
  type CustomSeriesOptions,
  type CustomSeriesPricePlotValues,
  type CustomSeriesWhitespaceData,
  customSeriesDefaultOptions,
  type ICustomSeriesPaneRenderer,
  type ICustomSeriesPaneView,
  type PaneRendererCustomData,
  type PriceToCoordinateConverter,
  type Time,
} from "lightweight-charts";

export interface BandPoint extends CustomData {
  lower: number;
  upper: number;
}

export interface BandOptions extends CustomSeriesOptions {
  fillColor: string;
  edgeColor: string;
}

type DrawTarget = Parameters<ICustomSeriesPaneRenderer["draw"]>[0];

function isBand(data: BandPoint | CustomSeriesWhitespaceData<Time>): data is BandPoint {
  const d = data as Partial<BandPoint>;
  return typeof d.lower === "number" && typeof d.upper === "number";
}

class BandRenderer implements ICustomSeriesPaneRenderer {
  data: PaneRendererCustomData<Time, BandPoint> | null = null;
  options: BandOptions | null = null;

  draw(target: DrawTarget, toY: PriceToCoordinateConverter): void {
    const { data, options } = this;
    if (data === null || options === null || data.visibleRange === null) return;
    const upper: [number, number][] = [];
    const lower: [number, number][] = [];
    // One point either side of the view, so the fill runs to its edges.
    const from = Math.max(0, data.visibleRange.from - 1);
    const to = Math.min(data.bars.length, data.visibleRange.to + 1);
    for (let i = from; i < to; i += 1) {
      const bar = data.bars[i];
      if (bar === undefined || !isBand(bar.originalData)) continue;
      const yu = toY(bar.originalData.upper);
      const yl = toY(bar.originalData.lower);
      if (yu === null || yl === null) continue;
      upper.push([bar.x, yu]);
      lower.push([bar.x, yl]);
    }
    if (upper.length === 0) return;
    target.useBitmapCoordinateSpace(({ context, horizontalPixelRatio: h, verticalPixelRatio: v }) => {
      context.fillStyle = options.fillColor;
      if (upper.length === 1) {
        // One bucket: a bar as wide as most of a bar's spacing.
        const [[x, yu]] = upper as [[number, number]];
        const [[, yl]] = lower as [[number, number]];
        const w = Math.max(2, data.barSpacing * 0.6);
        context.fillRect(Math.round((x - w / 2) * h), Math.round(yu * v), Math.round(w * h), Math.max(1, Math.round((yl - yu) * v)));
        return;
      }
      context.beginPath();
      upper.forEach(([x, y], i) => (i === 0 ? context.moveTo(x * h, y * v) : context.lineTo(x * h, y * v)));
      for (let i = lower.length - 1; i >= 0; i -= 1) {
        const [x, y] = lower[i] as [number, number];
        context.lineTo(x * h, y * v);
      }
      context.closePath();
      context.fill();
      context.strokeStyle = options.edgeColor;
      context.lineWidth = Math.max(1, Math.floor(h));
      for (const edge of [upper, lower]) {
        context.beginPath();
        edge.forEach(([x, y], i) => (i === 0 ? context.moveTo(x * h, y * v) : context.lineTo(x * h, y * v)));
        context.stroke();
      }
    });
  }
}

/** The band's pane view: one per series (it keeps the data of its last update). */
export class BandView implements ICustomSeriesPaneView<Time, BandPoint, BandOptions> {
  private readonly drawer = new BandRenderer();

  renderer(): ICustomSeriesPaneRenderer {
    return this.drawer;
  }

  update(data: PaneRendererCustomData<Time, BandPoint>, options: BandOptions): void {
    this.drawer.data = data;
    this.drawer.options = options;
  }

  priceValueBuilder(row: BandPoint): CustomSeriesPricePlotValues {
    return [row.lower, row.upper, (row.lower + row.upper) / 2];
  }

  isWhitespace(data: BandPoint | CustomSeriesWhitespaceData<Time>): data is CustomSeriesWhitespaceData<Time> {
    return !isBand(data);
  }

  defaultOptions(): BandOptions {
    return { ...customSeriesDefaultOptions, fillColor: "rgba(240, 180, 41, 0.14)", edgeColor: "rgba(240, 180, 41, 0.45)" };
  }
}
