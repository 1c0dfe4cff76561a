/**
 * Paging through a run's trades (pure): which window of them a page is, what of it is already
 * loaded (the run comes with its first page), and how the pager reads ("1–500 of 55,185").
 */
import type { TradesWindow } from "../../api/endpoints/strategies";

/** Trades listed a page (and sent with the run itself: its first page). */
export const TRADES_PAGE = 500;

/** Pages of `total` trades (one, empty, when there are none). */
export function pageCount(total: number, size = TRADES_PAGE): number {
  return Math.max(1, Math.ceil(total / size));
}

/** The window of page `page` (0-based), kept within the pages there are. */
export function pageWindow(page: number, total: number, size = TRADES_PAGE): TradesWindow {
  const last = pageCount(total, size) - 1;
  const at = Math.min(Math.max(0, Math.floor(page)), last);
  return { offset: at * size, limit: size };
}

/**
 * The trades of `window` when `loaded` (trades from the first on) already holds all of them;
 * `null` when the page must be asked for.
 */
export function loadedPage<T>(loaded: readonly T[], window: TradesWindow, total: number): T[] | null {
  const end = Math.min(window.offset + window.limit, total);
  return end <= loaded.length ? loaded.slice(window.offset, end) : null;
}

const count = (n: number): string => n.toLocaleString("en-US");

/**
 * What the pager says of `shown` trades from `offset` of `total`, and where it can go.
 *
 * @example pagerText(500, 500, 55185).text // "501–1,000 of 55,185"
 */
export function pagerText(offset: number, shown: number, total: number): { text: string; previous: boolean; next: boolean } {
  const text = shown > 0 ? `${count(offset + 1)}–${count(offset + shown)} of ${count(total)}` : `0 of ${count(total)}`;
  return { text, previous: offset > 0, next: offset + shown < total };
}
