import { describe, expect, it } from "vitest";

import { loadedPage, pageCount, pagerText, pageWindow, TRADES_PAGE } from "./tradePages";

describe("trade pages", () => {
  it("counts pages, one (empty) when there are no trades", () => {
    expect(TRADES_PAGE).toBe(500);
    expect(pageCount(0)).toBe(1);
    expect(pageCount(1)).toBe(1);
    expect(pageCount(500)).toBe(1);
    expect(pageCount(501)).toBe(2);
    expect(pageCount(55_185)).toBe(111);
    expect(pageCount(25, 10)).toBe(3);
  });

  it("keeps a page within the pages there are", () => {
    expect(pageWindow(0, 55_185)).toEqual({ offset: 0, limit: 500 });
    expect(pageWindow(1, 55_185)).toEqual({ offset: 500, limit: 500 });
    expect(pageWindow(110, 55_185)).toEqual({ offset: 55_000, limit: 500 });
    expect(pageWindow(111, 55_185)).toEqual({ offset: 55_000, limit: 500 });
    expect(pageWindow(-1, 55_185)).toEqual({ offset: 0, limit: 500 });
    expect(pageWindow(3, 0)).toEqual({ offset: 0, limit: 500 });
  });

  it("takes a page from the trades loaded with the run only when they hold all of it", () => {
    const loaded = Array.from({ length: 500 }, (_, i) => i);
    expect(loadedPage(loaded, { offset: 0, limit: 500 }, 55_185)).toEqual(loaded);
    expect(loadedPage(loaded, { offset: 500, limit: 500 }, 55_185)).toBeNull();
    expect(loadedPage(loaded.slice(0, 120), { offset: 0, limit: 500 }, 120)).toHaveLength(120);
    expect(loadedPage(loaded.slice(0, 30), { offset: 10, limit: 10 }, 30)).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    expect(loadedPage([], { offset: 0, limit: 500 }, 0)).toEqual([]);
    // Fewer loaded than the page needs (an older answer): ask.
    expect(loadedPage(loaded.slice(0, 100), { offset: 0, limit: 500 }, 700)).toBeNull();
  });

  it("says which trades are listed and whether there are more", () => {
    expect(pagerText(0, 500, 55_185)).toEqual({ text: "1–500 of 55,185", previous: false, next: true });
    expect(pagerText(500, 500, 55_185)).toEqual({ text: "501–1,000 of 55,185", previous: true, next: true });
    expect(pagerText(55_000, 185, 55_185)).toEqual({ text: "55,001–55,185 of 55,185", previous: true, next: false });
    expect(pagerText(0, 42, 42)).toEqual({ text: "1–42 of 42", previous: false, next: false });
    expect(pagerText(0, 0, 0)).toEqual({ text: "0 of 0", previous: false, next: false });
  });
});
