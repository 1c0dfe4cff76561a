import { describe, expect, it } from "vitest";

import type { StockUpdate } from "../api/events";
import { bucketStartMs, inRegularSession, type LiveMemo, mergeLiveMinute, parseStockUpdate } from "./live";
import type { Bar } from "./series";

const MIN = 60_000;
const utc = (y: number, mo: number, d: number, h = 0, mi = 0): number => Date.UTC(y, mo - 1, d, h, mi);

function minute(ts: number, close: number, extra: Partial<StockUpdate> = {}): StockUpdate {
  return {
    type: "stock_update",
    symbol: "DEMO",
    adjusted: true,
    ts,
    open: close - 1,
    high: close + 2,
    low: close - 3,
    close,
    volume: 10,
    vwap: null,
    transactions: null,
    closed: true,
    series: ["1m"],
    source: "synthetic",
    ...extra,
  };
}

describe("bucketStartMs", () => {
  it("aligns buckets in New York time as the server does", () => {
    const t = utc(2024, 3, 12, 23, 30); // 19:30 EDT
    expect(bucketStartMs(t, "1m")).toBe(t);
    expect(bucketStartMs(t + 59_999, "1m")).toBe(t);
    expect(bucketStartMs(t + 7 * MIN, "5m")).toBe(t + 5 * MIN);
    expect(bucketStartMs(t, "1h")).toBe(utc(2024, 3, 12, 23));
    expect(bucketStartMs(t, "4h")).toBe(utc(2024, 3, 12, 20)); // 16:00 EDT, as ClickHouse answers
    expect(bucketStartMs(t, "1d")).toBe(utc(2024, 3, 12, 4)); // New York midnight
    expect(bucketStartMs(t, "1w")).toBe(utc(2024, 3, 11, 4)); // Monday
    expect(bucketStartMs(t, "1M")).toBe(utc(2024, 3, 1, 5)); // March 1st was still EST
    expect(bucketStartMs(t, "3M")).toBe(utc(2024, 1, 1, 5));
    expect(bucketStartMs(t, "12M")).toBe(utc(2024, 1, 1, 5));
  });

  it("knows the day of a minute after midnight UTC but before midnight in New York", () => {
    expect(bucketStartMs(utc(2024, 1, 16, 3, 0), "1d")).toBe(utc(2024, 1, 15, 5)); // 22:00 EST on the 15th
  });

  it("handles days around the DST switches", () => {
    expect(bucketStartMs(utc(2024, 3, 10, 15), "1d")).toBe(utc(2024, 3, 10, 5)); // spring forward: midnight was EST
    expect(bucketStartMs(utc(2024, 11, 3, 15), "1d")).toBe(utc(2024, 11, 3, 4)); // fall back: midnight was EDT
    expect(bucketStartMs(utc(2024, 3, 10, 15), "2h")).toBe(utc(2024, 3, 10, 14)); // 10:00 EDT
    expect(bucketStartMs(utc(2024, 11, 3, 15), "2h")).toBe(utc(2024, 11, 3, 15)); // 10:00 EST
    expect(bucketStartMs(utc(2024, 3, 10, 15), "1w")).toBe(utc(2024, 3, 4, 5));
    expect(bucketStartMs(utc(2024, 11, 3, 15), "3M")).toBe(utc(2024, 10, 1, 4));
  });

  it("answers null for widths it does not know", () => {
    expect(bucketStartMs(0, "banana")).toBeNull();
    expect(bucketStartMs(0, "5M")).toBeNull();
    expect(bucketStartMs(0, "2d")).toBeNull();
  });
});

describe("inRegularSession", () => {
  it("keeps 09:30-16:00 New York", () => {
    expect(inRegularSession(utc(2024, 3, 12, 13, 29))).toBe(false); // 09:29 EDT
    expect(inRegularSession(utc(2024, 3, 12, 13, 30))).toBe(true);
    expect(inRegularSession(utc(2024, 3, 12, 19, 59))).toBe(true); // 15:59
    expect(inRegularSession(utc(2024, 3, 12, 20, 0))).toBe(false);
  });
});

describe("parseStockUpdate", () => {
  it("reads stock_update events and nothing else", () => {
    const event = minute(utc(2024, 3, 12, 14, 30), 5);
    expect(parseStockUpdate(JSON.stringify(event))).toEqual(event);
    expect(parseStockUpdate(JSON.stringify({ type: "fetch_progress", job_id: "x" }))).toBeNull();
    expect(parseStockUpdate(JSON.stringify({ ...event, close: "5" }))).toBeNull();
    expect(parseStockUpdate("not json")).toBeNull();
    expect(parseStockUpdate(new ArrayBuffer(2))).toBeNull();
  });
});

describe("mergeLiveMinute", () => {
  const t0 = utc(2024, 3, 12, 14, 30);
  const loaded: Bar[] = [
    { ts: t0 - 5 * MIN, open: 1, high: 2, low: 0.5, close: 1.5, volume: 100 },
    { ts: t0, open: 1.5, high: 3, low: 1, close: 2, volume: 50 }, // 14:30-14:35 so far
  ];

  it("on a 1m chart appends the forming minute and replaces it until it closes", () => {
    const bars: Bar[] = [{ ts: t0, open: 1, high: 1, low: 1, close: 1, volume: 1 }];
    const forming = mergeLiveMinute(bars, null, minute(t0 + MIN, 5, { closed: false, volume: 3 }), "1m");
    expect(forming?.appended).toBe(true);
    expect(forming?.bar).toEqual({ ts: t0 + MIN, open: 4, high: 7, low: 2, close: 5, volume: 3 });
    const grown = mergeLiveMinute(forming?.bars ?? [], forming?.memo ?? null, minute(t0 + MIN, 6, { closed: false, volume: 7 }), "1m");
    expect(grown?.appended).toBe(false);
    expect(grown?.bars.map((b) => b.volume)).toEqual([1, 7]);
    const closed = mergeLiveMinute(grown?.bars ?? [], grown?.memo ?? null, minute(t0 + MIN, 6, { volume: 9 }), "1m");
    expect(closed?.bars).toHaveLength(2);
    expect(closed?.bar.volume).toBe(9);
  });

  it("merges minutes into the current wider bucket without counting a minute twice", () => {
    const forming = mergeLiveMinute(loaded, null, minute(t0 + 2 * MIN, 4, { closed: false, volume: 5 }), "5m");
    expect(forming?.appended).toBe(false);
    expect(forming?.bar).toEqual({ ts: t0, open: 1.5, high: 6, low: 1, close: 4, volume: 55 });
    // The same minute again, grown: the bucket holds its latest state only.
    const grown = mergeLiveMinute(forming?.bars ?? [], forming?.memo ?? null, minute(t0 + 2 * MIN, 4.5, { closed: false, volume: 8 }), "5m");
    expect(grown?.bar.volume).toBe(58);
    // It closes: it joins the base once.
    const closed = mergeLiveMinute(grown?.bars ?? [], grown?.memo ?? null, minute(t0 + 2 * MIN, 4.5, { volume: 9 }), "5m");
    expect(closed?.bar.volume).toBe(59);
    expect(closed?.memo.closedThrough).toBe(t0 + 2 * MIN);
    // A repeat of the closed minute changes nothing; the next minute adds to it.
    expect(mergeLiveMinute(closed?.bars ?? [], closed?.memo ?? null, minute(t0 + 2 * MIN, 4.5, { volume: 9 }), "5m")).toBeNull();
    const next = mergeLiveMinute(closed?.bars ?? [], closed?.memo ?? null, minute(t0 + 3 * MIN, 1, { closed: false, volume: 1 }), "5m");
    expect(next?.bar).toEqual({ ts: t0, open: 1.5, high: 6.5, low: -2, close: 1, volume: 60 });
    // A late forming update of a minute that has closed is ignored.
    expect(mergeLiveMinute(next?.bars ?? [], next?.memo ?? null, minute(t0 + 2 * MIN, 9, { closed: false }), "5m")).toBeNull();
  });

  it("starts a new bucket when the minute passes the last bar's", () => {
    const memo: LiveMemo = { bucketTs: t0, base: loaded[1] ?? null, forming: null, closedThrough: t0 + 4 * MIN };
    const next = mergeLiveMinute(loaded, memo, minute(t0 + 5 * MIN, 9, { closed: false, volume: 4 }), "5m");
    expect(next?.appended).toBe(true);
    expect(next?.bars).toHaveLength(3);
    expect(next?.bar).toEqual({ ts: t0 + 5 * MIN, open: 8, high: 11, low: 6, close: 9, volume: 4 });
  });

  it("ignores minutes of buckets before the last bar and widths it cannot align", () => {
    expect(mergeLiveMinute(loaded, null, minute(t0 - 3 * MIN, 1), "5m")).toBeNull();
    expect(mergeLiveMinute(loaded, null, minute(t0, 1), "7x")).toBeNull();
  });

  it("merges into today's daily bar", () => {
    const day = utc(2024, 3, 12, 4);
    const bars: Bar[] = [{ ts: day, open: 10, high: 12, low: 9, close: 11, volume: 1000 }];
    const next = mergeLiveMinute(bars, null, minute(t0, 13, { closed: false, volume: 5 }), "1d");
    expect(next?.bar).toEqual({ ts: day, open: 10, high: 15, low: 9, close: 13, volume: 1005 });
  });
});
