/**
 * The evidence an "Open on chart" asked for, drawn on the chart while its symbol is charted
 * (`chart/evidenceDrawing.ts`), with a note over the chart saying what it is and a button to clear
 * it. A marker or a span the view does not show yet — out of view, or in a view far wider than the
 * window its reference asked for (a day among years of weekly bars) — is zoomed to, to that window,
 * once the bars are there (the URL already asked for it when the chart loads anew; on the same series
 * the view moves, and the chart loads the bars of the new view itself) — twice at most, so the user
 * can pan away afterwards.
 */
import { useEffect, useRef } from "react";

import { drawEvidence, type EvidenceDrawing } from "../../chart/evidenceDrawing";
import type { Bar } from "../../chart/series";
import type { ChartHandles } from "../../chart/useChart";
import type { Evidence } from "./references";

const ZOOM_TRIES = 2;
/** The view is checked this long after the bars last changed (a new series starts loading meanwhile). */
const ZOOM_DELAY_MS = 300;

interface Props {
  handles: ChartHandles | null;
  evidence: Evidence | null;
  /** The charted symbol. */
  symbol: string | null;
  bars: readonly Bar[];
  bucketMs: number;
  /** The chart is loading a slice (its bars are about to change). */
  loading: boolean;
  onClear: () => void;
}

export function EvidenceLayer({ handles, evidence, symbol, bars, bucketMs, loading, onClear }: Props) {
  const active = evidence !== null && symbol !== null && evidence.symbol.toUpperCase() === symbol.toUpperCase() ? evidence : null;
  const drawingRef = useRef<EvidenceDrawing | null>(null);
  const latest = useRef({ bars, bucketMs });
  useEffect(() => {
    latest.current = { bars, bucketMs };
  });
  const zoomed = useRef<{ evidence: Evidence | null; tries: number }>({ evidence: null, tries: 0 });

  useEffect(() => {
    if (handles === null || active === null) return undefined;
    const drawing = drawEvidence(handles, active, active.window);
    drawingRef.current = drawing;
    drawing.draw(latest.current.bars, latest.current.bucketMs);
    return () => {
      drawingRef.current = null;
      drawing.remove();
    };
  }, [handles, active]);

  useEffect(() => {
    const drawing = drawingRef.current;
    if (drawing === null || active === null) return undefined;
    drawing.draw(bars, bucketMs);
    if (loading || bars.length === 0) return undefined;
    const state = zoomed.current.evidence === active ? zoomed.current : { evidence: active, tries: 0 };
    zoomed.current = state;
    if (state.tries >= ZOOM_TRIES) return undefined;
    const timer = setTimeout(() => {
      if (drawing.shown(bars, bucketMs)) state.tries = ZOOM_TRIES;
      else if (drawing.zoom(bars, bucketMs)) state.tries += 1;
    }, ZOOM_DELAY_MS);
    return () => clearTimeout(timer);
  }, [active, bars, bucketMs, loading]);

  if (active === null) return null;
  return (
    <div className="evidence-note" data-testid="evidence-note" data-kind={active.kind}>
      <span className="evidence-swatch" aria-hidden="true" />
      <span className="evidence-text">{active.label !== "" ? active.label : active.kind === "price_line" ? `Price ${active.price}` : "Evidence"}</span>
      <button type="button" className="evidence-clear" onClick={onClear} aria-label="Clear the evidence from the chart" title="Clear">
        ×
      </button>
    </div>
  );
}
