/**
 * The data grid's arithmetic (pure): which bars the chart shows, which rows a scrolled viewport
 * needs (fixed row height), where to scroll to reveal a row, and finding a bar by time.
 */
import type { Bar } from "./series";
import type { LogicalWindow } from "./window";

export interface IndexRange {
  /** First index. */
  start: number;
  /** One past the last index. */
  end: number;
}

/** Indexes of the bars a logical range shows (whole or partly), clamped to `[0, count)`. */
export function visibleBarRange(count: number, range: LogicalWindow | null): IndexRange {
  if (range === null || count === 0) return { start: 0, end: 0 };
  const start = Math.max(0, Math.min(count, Math.ceil(range.from - 0.5)));
  const end = Math.max(start, Math.min(count, Math.floor(range.to + 0.5) + 1));
  return { start, end };
}

/**
 * The rows to render for a viewport: those in view plus `overscan` either side.
 *
 * @example rowWindow(220, 110, 1000, 22, 2) // { start: 8, end: 17 }
 */
export function rowWindow(scrollTop: number, viewportPx: number, count: number, rowPx: number, overscan = 8): IndexRange {
  if (count === 0 || rowPx <= 0) return { start: 0, end: 0 };
  const first = Math.floor(Math.max(0, scrollTop) / rowPx);
  const last = Math.ceil((Math.max(0, scrollTop) + Math.max(0, viewportPx)) / rowPx);
  return { start: Math.max(0, Math.min(count, first - overscan)), end: Math.max(0, Math.min(count, last + overscan)) };
}

/** The scroll offset that brings row `index` into view (unchanged when it already is). */
export function scrollToReveal(index: number, scrollTop: number, viewportPx: number, rowPx: number): number {
  const top = index * rowPx;
  const bottom = top + rowPx;
  if (top < scrollTop) return top;
  if (bottom > scrollTop + viewportPx) return Math.max(0, bottom - viewportPx);
  return scrollTop;
}

/** The index of the bar starting at `ts` (epoch ms; compared in whole seconds, as the chart does), or -1. */
export function indexOfTime(bars: readonly Bar[], ts: number): number {
  const sec = Math.floor(ts / 1000);
  let lo = 0;
  let hi = bars.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const t = Math.floor((bars[mid]?.ts ?? 0) / 1000);
    if (t === sec) return mid;
    if (t < sec) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** A logical range as wide as `range`, centred on bar `index`. */
export function centredOn(index: number, range: LogicalWindow | null, fallbackWidth = 100): LogicalWindow {
  const half = (range !== null ? range.to - range.from : fallbackWidth) / 2;
  return { from: index - half, to: index + half };
}
