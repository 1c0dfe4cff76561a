/**
 * Draws the assistant's evidence on a chart (imperative; `evidence.ts` has the maths): a marker on
 * the candles (`createSeriesMarkers`), a price line on them (`createPriceLine`), or a span shaded
 * behind them (a series primitive of its own) — and zooms the view to a marker or a span.
 *
 * What is drawn is summarised on the chart's container as `data-evidence` (JSON: the kind, whether
 * it is drawn on the loaded bars, and the bar times it is drawn at) for browser tests.
 */
import {
  createSeriesMarkers,
  type IPrimitivePaneRenderer,
  type IPrimitivePaneView,
  type IPriceLine,
  type ISeriesPrimitive,
  LineStyle,
  type PrimitivePaneViewZOrder,
  type SeriesAttachedParameter,
  type Time,
  type UTCTimestamp,
} from "lightweight-charts";

import { barAt, barsWithin, type ChartEvidence, evidenceShown, evidenceWindow, logicalWindowFor } from "./evidence";
import type { Bar } from "./series";
import { type ChartHandles, isRemoved } from "./useChart";
import { type TimeWindow, visibleTimeWindow } from "./window";

export const EVIDENCE_COLOR = "#f59e0b";
const RANGE_FILL = "rgba(245, 158, 11, 0.12)";
const RANGE_EDGE = "rgba(245, 158, 11, 0.7)";

type DrawTarget = Parameters<IPrimitivePaneRenderer["draw"]>[0];

/** Shades the chart between two bar times (seconds), behind the series. */
class RangeShade implements ISeriesPrimitive {
  private param: SeriesAttachedParameter | null = null;
  private span: [UTCTimestamp, UTCTimestamp] | null = null;
  private x: [number, number] | null = null;
  private readonly view: IPrimitivePaneView = {
    zOrder: (): PrimitivePaneViewZOrder => "bottom",
    renderer: (): IPrimitivePaneRenderer | null => {
      const x = this.x;
      if (x === null) return null;
      return {
        draw: (target: DrawTarget) => {
          target.useBitmapCoordinateSpace(({ context, horizontalPixelRatio, bitmapSize }) => {
            const left = Math.round(x[0] * horizontalPixelRatio);
            const width = Math.max(1, Math.round(x[1] * horizontalPixelRatio) - left);
            context.fillStyle = RANGE_FILL;
            context.fillRect(left, 0, width, bitmapSize.height);
            context.fillStyle = RANGE_EDGE;
            context.fillRect(left, 0, Math.max(1, Math.round(horizontalPixelRatio)), bitmapSize.height);
            context.fillRect(left + width - Math.max(1, Math.round(horizontalPixelRatio)), 0, Math.max(1, Math.round(horizontalPixelRatio)), bitmapSize.height);
          });
        },
      };
    },
  };

  attached(param: SeriesAttachedParameter): void {
    this.param = param;
  }

  detached(): void {
    this.param = null;
  }

  setSpan(span: [UTCTimestamp, UTCTimestamp] | null): void {
    this.span = span;
    this.param?.requestUpdate();
  }

  updateAllViews(): void {
    const param = this.param;
    const span = this.span;
    this.x = null;
    if (param === null || span === null) return;
    const scale = param.chart.timeScale();
    const a = scale.timeToCoordinate(span[0]);
    const b = scale.timeToCoordinate(span[1]);
    if (a === null || b === null) return;
    const half = scale.options().barSpacing / 2;
    this.x = [Math.min(a, b) - half, Math.max(a, b) + half];
  }

  paneViews(): readonly IPrimitivePaneView[] {
    return [this.view];
  }
}

export interface EvidenceDrawing {
  /** Draws the evidence on the loaded bars (again after each new slice or live bar). */
  draw: (bars: readonly Bar[], bucketMs: number) => void;
  /** Whether the view shows the evidence (`evidenceShown`; a price line any view does). */
  shown: (bars: readonly Bar[], bucketMs: number) => boolean;
  /** Moves the view to the evidence's window; `false` when there is nothing to move to. */
  zoom: (bars: readonly Bar[], bucketMs: number) => boolean;
  remove: () => void;
}

const seconds = (ms: number): UTCTimestamp => Math.floor(ms / 1000) as UTCTimestamp;

function describe(container: HTMLElement, evidence: ChartEvidence | null, at: number[]): void {
  if (evidence === null) delete container.dataset.evidence;
  else container.dataset.evidence = JSON.stringify({ kind: evidence.kind, drawn: at.length > 0 || evidence.kind === "price_line", at });
}

/**
 * Draws `evidence` on the chart of `handles`. `asked` is the window to show it in (the one its
 * reference asked for, at the reference's bar width); `null`: the margins around it at the chart's
 * own bar width (`evidenceWindow`).
 */
export function drawEvidence(handles: ChartHandles, evidence: ChartEvidence, asked: TimeWindow | null = null): EvidenceDrawing {
  const { chart, candles, container } = handles;
  const windowAt = (bucketMs: number): TimeWindow | null => asked ?? evidenceWindow(evidence, bucketMs);
  let remove: () => void = () => undefined;
  let draw: (bars: readonly Bar[], bucketMs: number) => number[] = () => [];

  if (evidence.kind === "marker") {
    const plugin = createSeriesMarkers<Time>(candles, []);
    draw = (bars, bucketMs) => {
      const ts = barAt(bars, evidence.ts, bucketMs);
      const above = evidence.position !== "below";
      plugin.setMarkers(
        ts === null
          ? []
          : [{ time: seconds(ts), position: above ? "aboveBar" : "belowBar", shape: above ? "arrowDown" : "arrowUp", color: EVIDENCE_COLOR, text: evidence.label, size: 1.5 }],
      );
      return ts === null ? [] : [ts];
    };
    remove = () => plugin.detach();
  } else if (evidence.kind === "price_line") {
    const line: IPriceLine = candles.createPriceLine({
      price: evidence.price,
      color: EVIDENCE_COLOR,
      lineWidth: 2,
      lineStyle: LineStyle.Dashed,
      axisLabelVisible: true,
      title: evidence.label,
    });
    remove = () => candles.removePriceLine(line);
  } else {
    const shade = new RangeShade();
    candles.attachPrimitive(shade);
    draw = (bars) => {
      const span = barsWithin(bars, Math.min(evidence.start, evidence.end), Math.max(evidence.start, evidence.end));
      shade.setSpan(span === null ? null : [seconds(span[0]), seconds(span[1])]);
      return span ?? [];
    };
    remove = () => candles.detachPrimitive(shade);
  }

  return {
    draw: (bars, bucketMs) => describe(container, evidence, draw(bars, bucketMs)),
    shown: (bars, bucketMs) => {
      const logical = chart.timeScale().getVisibleLogicalRange();
      if (logical === null || bars.length === 0) return evidence.kind === "price_line";
      return evidenceShown(evidence, visibleTimeWindow(bars.map((b) => b.ts), logical, bucketMs), windowAt(bucketMs));
    },
    zoom: (bars, bucketMs) => {
      const target = windowAt(bucketMs);
      const range = target !== null ? logicalWindowFor(bars, target, bucketMs) : null;
      if (range === null) return false;
      chart.timeScale().setVisibleLogicalRange(range);
      return true;
    },
    remove: () => {
      describe(container, null, []);
      if (!isRemoved(chart)) remove();
    },
  };
}
