import { describe, expect, it } from "vitest";

import { BY_SYMBOL, nextSort, pageText, screenRequest, sortState } from "./screenTable";

describe("nextSort", () => {
  it("starts a value column highest first, flips it on a second click, and goes back to symbols A to Z", () => {
    const byRsi = nextSort(BY_SYMBOL, "rsi(close, 14)");
    expect(byRsi).toEqual({ column: "rsi(close, 14)", descending: true });
    expect(nextSort(byRsi, "rsi(close, 14)")).toEqual({ column: "rsi(close, 14)", descending: false });
    expect(nextSort(byRsi, "symbol")).toEqual(BY_SYMBOL);
    expect(nextSort(BY_SYMBOL, "symbol")).toEqual({ column: null, descending: true });
  });

  it("tells each column's head how it is sorted", () => {
    expect(sortState(BY_SYMBOL, "symbol")).toBe("ascending");
    expect(sortState(BY_SYMBOL, "close")).toBe("none");
    expect(sortState({ column: "close", descending: true }, "close")).toBe("descending");
  });
});

describe("screenRequest", () => {
  it("asks for a page, sorted by a value column or (omitted) the symbol", () => {
    const form = { expression: " close > 10 ", timeframe: "1d" as const, session: "extended" as const };
    expect(screenRequest(form, BY_SYMBOL, 0)).toEqual({ expression: "close > 10", timeframe: "1d", session: "extended", params: {}, descending: false, limit: 50, offset: 0 });
    expect(screenRequest(form, { column: "close", descending: true }, 2)).toMatchObject({ sort: "close", descending: true, offset: 100 });
  });
});

describe("pageText", () => {
  it("says which matches are shown and whether there are more", () => {
    expect(pageText(50, 50, 240)).toEqual({ text: "51–100 of 240", previous: true, next: true });
    expect(pageText(200, 40, 240)).toEqual({ text: "201–240 of 240", previous: true, next: false });
    expect(pageText(0, 0, 0)).toEqual({ text: "0 of 0", previous: false, next: false });
  });
});
