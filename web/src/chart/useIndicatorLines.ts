/**
 * Draws a slice's indicator outputs (`indicatorDrawing.ts`) and keeps them current: the series are
 * rebuilt when what is drawn changes (indicators, colours, panes), fed the bars' values whenever
 * the bars change (only the last points when only they changed, as live bars do), moved by live
 * `indicator_calculated` points of the charted series, and removed with the indicator or the chart.
 *
 * An indicator the stored series is too short for is not drawn (no empty pane): it is returned in
 * `shortfalls`, to be said in words.
 */
import { useEffect, useMemo, useRef, useState } from "react";

import type { IndicatorCalculated } from "../api/events";
import { type IndicatorDrawing, drawIndicators } from "./indicatorDrawing";
import { type IndicatorLine, layoutIndicators, layoutKey } from "./indicatorLayout";
import { type ChartedSeries, liveEventApplies, type LiveValues, liveValueOf, withLivePoints } from "./indicatorLive";
import { changedTail, type IndicatorColumn, type ValueOf } from "./indicators";
import { type Shortfall, shortfalls as findShortfalls } from "./indicatorShortfall";
import type { Bar } from "./series";
import type { ChartHandles } from "./useChart";

export interface LiveIndicators {
  /** Calls `listener` with each `indicator_calculated` event of the symbol; returns an unsubscribe. */
  subscribe: (listener: (event: IndicatorCalculated) => void) => () => void;
  /** The series on the chart (`null` until a slice is loaded). */
  series: ChartedSeries | null;
}

export interface IndicatorLinesParams {
  /** The columns to draw (those of the shown indicators). */
  columns: readonly IndicatorColumn[];
  /** Output colours by canonical spec. */
  colors?: ReadonlyMap<string, readonly string[]>;
  bars: readonly Bar[];
  live?: LiveIndicators | null;
}

export interface IndicatorLines {
  lines: IndicatorLine[];
  shortfalls: Shortfall[];
  /** An output's value at a bar, live values included (for the crosshair strip and the grid). */
  valueOf: ValueOf;
}

const NO_COLORS: ReadonlyMap<string, readonly string[]> = new Map();
const NO_VALUES: LiveValues = new Map();

function seriesKey(series: ChartedSeries | null): string {
  return series === null ? "" : [series.symbol, series.adjusted, series.bucket, series.session].join("|");
}

export function useIndicatorLines(handles: ChartHandles | null, { columns, colors = NO_COLORS, bars, live = null }: IndicatorLinesParams): IndicatorLines {
  const context = seriesKey(live?.series ?? null);
  // Live values of the charted series (dropped with it); the ref is what the callbacks read.
  const [liveState, setLiveState] = useState<{ context: string; values: LiveValues }>({ context, values: NO_VALUES });
  const liveRef = useRef(liveState);
  const values = liveState.context === context ? liveState.values : NO_VALUES;
  const valueOf = useMemo(() => liveValueOf(values), [values]);

  const shortfalls = useMemo(() => findShortfalls(columns, bars, valueOf), [columns, bars, valueOf]);
  const laidOut = layoutIndicators(
    columns.filter((c) => !shortfalls.some((s) => s.spec === c.spec)),
    colors,
  );
  // A new slice brings new column objects; the series only change with what is drawn (which `key` spells out).
  const key = layoutKey(laidOut);
  // eslint-disable-next-line react-hooks/exhaustive-deps -- `key` is `laidOut` as far as drawing goes
  const lines = useMemo(() => laidOut, [key]);

  const drawingRef = useRef<IndicatorDrawing | null>(null);
  /** What the series were last given. */
  const drawnRef = useRef<{ drawing: IndicatorDrawing; bars: readonly Bar[] } | null>(null);
  const latest = useRef({ bars, lines, series: live?.series ?? null, context });
  useEffect(() => {
    latest.current = { bars, lines, series: live?.series ?? null, context };
  });

  useEffect(() => {
    if (handles === null || lines.length === 0) return undefined;
    const drawing = drawIndicators(handles, lines);
    drawingRef.current = drawing;
    return () => {
      drawingRef.current = null;
      drawing.remove();
    };
  }, [handles, lines]);

  useEffect(() => {
    const drawing = drawingRef.current;
    if (drawing === null) return;
    const drawn = drawnRef.current;
    const from = drawn !== null && drawn.drawing === drawing ? changedTail(drawn.bars, bars) : null;
    const current = liveRef.current;
    drawing.draw(bars, liveValueOf(current.context === latest.current.context ? current.values : NO_VALUES), from);
    drawnRef.current = { drawing, bars };
  }, [handles, lines, bars]);

  const subscribe = live?.subscribe ?? null;
  useEffect(() => {
    if (subscribe === null) return undefined;
    return subscribe((event) => {
      const now = latest.current;
      if (now.series === null) return;
      const drawnSpecs = new Set(now.lines.map((l) => l.column.spec));
      if (!liveEventApplies(event, now.series, drawnSpecs)) return;
      const before = liveRef.current.context === now.context ? liveRef.current.values : NO_VALUES;
      const next = { context: now.context, values: withLivePoints(before, event) };
      liveRef.current = next;
      drawingRef.current?.drawAt(
        now.bars,
        liveValueOf(next.values),
        new Set(event.columns),
        event.points.map(([ts]) => ts),
      );
      setLiveState(next);
    });
  }, [subscribe]);

  return { lines, shortfalls, valueOf };
}
