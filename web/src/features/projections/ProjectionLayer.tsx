/**
 * The projections on the chart: of those the URL names, tells the page which to join to the chart's
 * slices (the complete ones of the charted series; one of another series or timeframe stays in the
 * URL, undrawn); draws the joined ones (`projectionDrawing.ts`) from the bars' values and the future
 * buckets after them; and names each one of the series in a legend over the chart (method, horizon,
 * when it was made, its score, or how far it has got).
 */
import { useEffect, useMemo, useRef } from "react";

import type { Projection } from "../../api/types";
import { drawProjections, type ProjectionDrawing } from "../../chart/projectionDrawing";
import type { FuturePoint } from "../../chart/projectionRows";
import type { Bar } from "../../chart/series";
import type { ChartHandles } from "../../chart/useChart";
import { legendText, projectionColor } from "./legend";
import { type SeriesKey, useProjectionList } from "./useProjections";

interface Props {
  handles: ChartHandles | null;
  /** The charted series; `null` while none is. */
  series: SeriesKey | null;
  /** The projections the URL names, in order (their colours follow it). */
  ids: readonly string[];
  bars: readonly Bar[];
  future: readonly FuturePoint[];
  /** The ones to join to the chart's slices. */
  onDrawable: (ids: string[]) => void;
}

/** Those of the URL's projections to join to the chart: the complete ones of the series' list, in order. */
export function drawableIds(ids: readonly string[], list: readonly Projection[] | null): string[] {
  if (list === null) return [];
  const complete = new Set(list.filter((p) => p.status === "complete").map((p) => p.id));
  return ids.filter((id) => complete.has(id));
}

export function ProjectionLayer({ handles, series, ids, bars, future, onDrawable }: Props) {
  const { projections } = useProjectionList(series);
  const drawableKey = drawableIds(ids, projections).join(",");

  useEffect(() => {
    onDrawable(drawableKey === "" ? [] : drawableKey.split(","));
  }, [drawableKey, onDrawable]);

  const colorKey = ids.join(",");
  const styles = useMemo(() => {
    const order = colorKey.split(",");
    return drawableKey === "" ? [] : drawableKey.split(",").map((id) => ({ id, color: projectionColor(order.indexOf(id)) }));
  }, [drawableKey, colorKey]);

  const drawingRef = useRef<ProjectionDrawing | null>(null);
  const revealed = useRef(new Set<string>());
  const latest = useRef({ bars, future });
  useEffect(() => {
    latest.current = { bars, future };
  });
  useEffect(() => {
    if (handles === null || styles.length === 0) return undefined;
    const drawing = drawProjections(handles, styles, (id) => {
      if (revealed.current.has(id)) return false;
      revealed.current.add(id);
      return true;
    });
    drawingRef.current = drawing;
    drawing.draw(latest.current.bars, latest.current.future);
    return () => {
      drawingRef.current = null;
      drawing.remove();
    };
  }, [handles, styles]);
  useEffect(() => {
    drawingRef.current?.draw(bars, future);
  }, [bars, future]);

  const shown = ids.flatMap((id, index) => {
    const p = projections?.find((q) => q.id === id);
    return p !== undefined ? [{ p, color: projectionColor(index) }] : [];
  });
  if (shown.length === 0) return null;
  return (
    <ul className="projection-legend" data-testid="projection-legend">
      {shown.map(({ p, color }) => (
        <li key={p.id} data-testid="projection-legend-item" data-id={p.id} data-status={p.status}>
          <span className="projection-swatch" style={{ borderColor: color, background: `${color}33` }} aria-hidden="true" />
          {legendText(p)}
        </li>
      ))}
    </ul>
  );
}
