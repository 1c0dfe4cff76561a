import { makeData, makeVector, Table, tableFromIPC, tableToIPC, Timestamp, TimeUnit } from "apache-arrow";
import { describe, expect, it } from "vitest";

import { barsToSeries, DOWN_COLOR, normalizeBars, priceFormatFor, tableToBars, UP_COLOR } from "./series";

function slice(ts: bigint[], columns: Record<string, number[]>, unit = TimeUnit.MILLISECOND): Table {
  const tsVector = makeVector(makeData({ type: new Timestamp(unit, "UTC"), length: ts.length, data: new BigInt64Array(ts) }));
  const vectors = Object.fromEntries(Object.entries(columns).map(([name, values]) => [name, makeVector(new Float64Array(values))]));
  // Round-trip through IPC, as the browser receives it.
  return tableFromIPC(tableToIPC(new Table({ ts: tsVector, ...vectors }), "stream"));
}

const T0 = 1_700_000_000_000n;

describe("tableToBars", () => {
  it("reads OHLCV and ignores extra columns", () => {
    const table = slice([T0, T0 + 60_000n], {
      open: [1, 2],
      high: [3, 4],
      low: [0.5, 1.5],
      close: [2, 1],
      volume: [100, 200],
      vwap: [1.5, 1.6],
    });
    expect(tableToBars(table)).toEqual([
      { ts: 1_700_000_000_000, open: 1, high: 3, low: 0.5, close: 2, volume: 100 },
      { ts: 1_700_000_060_000, open: 2, high: 4, low: 1.5, close: 1, volume: 200 },
    ]);
  });

  it("converts other timestamp units to ms", () => {
    const table = slice([1_700_000_000_000_000n], { open: [1], high: [1], low: [1], close: [1], volume: [1] }, TimeUnit.MICROSECOND);
    expect(tableToBars(table)[0]?.ts).toBe(1_700_000_000_000);
  });

  it("fails loudly without the price columns", () => {
    expect(() => tableToBars(slice([T0], { open: [1] }))).toThrow(/high, low, close/);
  });

  it("treats a missing volume column as zero volume", () => {
    expect(tableToBars(slice([T0], { open: [1], high: [1], low: [1], close: [1] }))[0]?.volume).toBe(0);
  });
});

describe("normalizeBars", () => {
  const bar = (ts: number, close = 1) => ({ ts, open: 1, high: 1, low: 1, close, volume: 0 });
  it("sorts and keeps the last of a repeated time", () => {
    expect(normalizeBars([bar(3), bar(1), bar(3, 9), bar(2)]).map((b) => [b.ts, b.close])).toEqual([
      [1, 1],
      [2, 1],
      [3, 9],
    ]);
  });
  it("returns sorted input as is", () => {
    const bars = [bar(1), bar(2)];
    expect(normalizeBars(bars)).toBe(bars);
  });
});

describe("barsToSeries", () => {
  it("uses whole UTC seconds and colours volume by direction", () => {
    const out = barsToSeries([
      { ts: 1_700_000_000_500, open: 1, high: 2, low: 0, close: 2, volume: 10 },
      { ts: 1_700_000_060_000, open: 2, high: 2, low: 0, close: 1, volume: 20 },
    ]);
    expect(out.candles.map((c) => c.time)).toEqual([1_700_000_000, 1_700_000_060]);
    expect(out.timesMs).toEqual([1_700_000_000_500, 1_700_000_060_000]);
    expect(out.volumes.map((v) => v.value)).toEqual([10, 20]);
    expect(UP_COLOR).not.toBe(DOWN_COLOR);
    expect(out.volumes[0]?.color).not.toBe(out.volumes[1]?.color);
  });
});

describe("priceFormatFor", () => {
  it("shows more digits for cheap prices", () => {
    expect(priceFormatFor(187.5)).toEqual({ type: "price", precision: 2, minMove: 0.01 });
    expect(priceFormatFor(0.5).precision).toBe(4);
    expect(priceFormatFor(0.0123)).toEqual({ type: "price", precision: 5, minMove: 0.00001 });
    expect(priceFormatFor(0.0001).precision).toBe(6);
  });
});
