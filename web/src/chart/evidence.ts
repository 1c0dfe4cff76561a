/**
 * Evidence the assistant points at, as the chart draws it (pure): a marker on one bar, a price
 * line, or a span of time shaded and zoomed to (`evidenceDrawing.ts` draws them).
 *
 * A marker sits on the bar that holds its time (the chart's bars may be wider than the bar the
 * assistant meant); a span is shaded from the first to the last bar inside it, and the view it is
 * shown in leaves a margin either side. A view shows the evidence when it is in view and the view is
 * not far wider than that window (a marker on one day among ten years of weekly bars is not shown).
 */
import type { Bar } from "./series";
import type { LogicalWindow, TimeWindow } from "./window";
import { timeToLogical } from "./window";

export type ChartEvidence =
  | { kind: "marker"; ts: number; label: string; position: "above" | "below" }
  | { kind: "price_line"; price: number; label: string }
  | { kind: "range"; start: number; end: number; label: string };

/** Bars of margin either side of a marker when the chart zooms to it. */
export const MARKER_MARGIN_BARS = 40;
/** Margin either side of a span, as a share of its length (at least three bars). */
export const RANGE_MARGIN = 0.15;

/** The time of the bar holding `ts` (the last bar starting at or before it), or `null` when no loaded bar does. */
export function barAt(bars: readonly Bar[], ts: number, bucketMs: number): number | null {
  let lo = 0;
  let hi = bars.length - 1;
  let found: Bar | null = null;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const bar = bars[mid] as Bar;
    if (bar.ts <= ts) {
      found = bar;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  if (found === null || ts - found.ts >= Math.max(bucketMs, 1) * 2) return null;
  return found.ts;
}

/** The first and last loaded bar inside `[start, end]` (ms), or `null` when none is. */
export function barsWithin(bars: readonly Bar[], start: number, end: number): [number, number] | null {
  let first: number | null = null;
  let last: number | null = null;
  for (const bar of bars) {
    if (bar.ts < start) continue;
    if (bar.ts > end) break;
    first ??= bar.ts;
    last = bar.ts;
  }
  return first !== null && last !== null ? [first, last] : null;
}

/** The time window to show evidence in (with margins), or `null` for a price line (any view shows it). */
export function evidenceWindow(evidence: ChartEvidence, bucketMs: number): TimeWindow | null {
  const bar = Math.max(bucketMs, 1);
  if (evidence.kind === "marker") return { fromMs: evidence.ts - MARKER_MARGIN_BARS * bar, toMs: evidence.ts + MARKER_MARGIN_BARS * bar };
  if (evidence.kind === "range") {
    const start = Math.min(evidence.start, evidence.end);
    const end = Math.max(evidence.start, evidence.end);
    const margin = Math.max((end - start) * RANGE_MARGIN, 3 * bar);
    return { fromMs: start - margin, toMs: end + bar + margin };
  }
  return null;
}

/** A view more than this many times as wide as the evidence's window does not show it (it is zoomed to). */
export const SHOWN_SPAN_FACTOR = 2;

/** Whether the evidence's own span (not its margins) is inside the visible window. */
export function evidenceInView(evidence: ChartEvidence, visible: TimeWindow): boolean {
  if (evidence.kind === "marker") return evidence.ts >= visible.fromMs && evidence.ts <= visible.toMs;
  if (evidence.kind === "range") return Math.min(evidence.start, evidence.end) >= visible.fromMs && Math.max(evidence.start, evidence.end) <= visible.toMs;
  return true;
}

/**
 * Whether the view shows the evidence as asked: in view, and at most `SHOWN_SPAN_FACTOR` times as
 * wide as `window` (the window it is shown in; `null`: any view that has it shows it, a price line's).
 */
export function evidenceShown(evidence: ChartEvidence, visible: TimeWindow, window: TimeWindow | null): boolean {
  if (!evidenceInView(evidence, visible)) return false;
  return window === null || visible.toMs - visible.fromMs <= SHOWN_SPAN_FACTOR * (window.toMs - window.fromMs);
}

/** The logical range of the loaded bars that shows `window` (extrapolated past them with the bar width). */
export function logicalWindowFor(bars: readonly Bar[], window: TimeWindow, bucketMs: number): LogicalWindow | null {
  if (bars.length === 0) return null;
  const times = bars.map((b) => b.ts);
  return { from: timeToLogical(times, window.fromMs, bucketMs), to: timeToLogical(times, window.toMs, bucketMs) };
}
