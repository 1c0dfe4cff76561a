/**
 * The screen's table (pure): the request a form, a sort and a page make; what a click on a column's
 * head does to the sort; and the page in words. The server sorts and pages (`sort`, `descending`,
 * `limit`, `offset`); sorting by symbol is its default (`sort` omitted).
 */
import type { ScreenRequest } from "../../api/types";
import type { Timeframe, TradingSession } from "../../api/types";
import { formatIndicatorValue } from "../../chart/indicators";

export const PAGE_SIZE = 50;
export const SYMBOL_COLUMN = "symbol";

export interface ScreenSort {
  /** A value column, or `null` for the symbol. */
  column: string | null;
  descending: boolean;
}

export const BY_SYMBOL: ScreenSort = { column: null, descending: false };

/** The sort after a click on `column`'s head: the same column flips its order; another starts with the highest first (the symbol A to Z). */
export function nextSort(current: ScreenSort, column: string): ScreenSort {
  const target = column === SYMBOL_COLUMN ? null : column;
  if (current.column === target) return { column: target, descending: !current.descending };
  return { column: target, descending: target !== null };
}

/** Whether a column is the one sorted by, and which way (`ascending`/`descending`/`none`, as `aria-sort` says it). */
export function sortState(sort: ScreenSort, column: string): "ascending" | "descending" | "none" {
  const target = column === SYMBOL_COLUMN ? null : column;
  if (sort.column !== target) return "none";
  return sort.descending ? "descending" : "ascending";
}

export interface ScreenForm {
  expression: string;
  timeframe: Timeframe;
  session: TradingSession;
}

export function screenRequest(form: ScreenForm, sort: ScreenSort, page: number): ScreenRequest {
  const request: ScreenRequest = {
    expression: form.expression.trim(),
    timeframe: form.timeframe,
    session: form.session,
    params: {},
    descending: sort.descending,
    limit: PAGE_SIZE,
    offset: Math.max(0, page) * PAGE_SIZE,
  };
  if (sort.column !== null) request.sort = sort.column;
  return request;
}

/** `51–100 of 240`, and whether there are pages before and after. */
export function pageText(offset: number, shown: number, total: number): { text: string; previous: boolean; next: boolean } {
  if (total === 0 || shown === 0) return { text: `0 of ${total}`, previous: offset > 0, next: false };
  return { text: `${offset + 1}–${offset + shown} of ${total}`, previous: offset > 0, next: offset + shown < total };
}

/** A matched value as the table shows it. */
export function screenValue(value: number | null | undefined): string {
  return formatIndicatorValue(value);
}
