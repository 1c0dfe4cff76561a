import { Field, Float64, makeData, RecordBatch, Schema, Struct, Table, tableFromIPC, tableToIPC, Timestamp, TimeUnit, vectorFromArray } from "apache-arrow";
import { describe, expect, it } from "vitest";

import { type Bar, tableToBars } from "./series";
import { countTradeMarkers, GAIN_COLOR, LONG_COLOR, LOSS_COLOR, pnlText, SHORT_COLOR, tradeColumn, tradeMarkers } from "./tradeMarkers";

const RUN = "r1";

function bar(ts: number, extra: Record<string, number | null> = {}): Bar {
  return { ts, open: 10, high: 11, low: 9, close: 10, volume: 1, extra };
}

/** A bar with the run's trade columns (`null` where nothing happened). */
function traded(ts: number, entry: number | null, entryPrice: number | null, exit: number | null, exitPrice: number | null): Bar {
  return bar(ts, {
    [tradeColumn(RUN, "entry")]: entry,
    [tradeColumn(RUN, "entry_price")]: entryPrice,
    [tradeColumn(RUN, "exit")]: exit,
    [tradeColumn(RUN, "exit_price")]: exitPrice,
  });
}

describe("tradeMarkers", () => {
  it("puts a long entry below its fill pointing up, and its exit at its fill coloured by P&L", () => {
    const markers = tradeMarkers([traded(0, null, null, null, null), traded(60_000, 5, 10.5, null, null), traded(120_000, null, null, 12.5, 13)], RUN);
    expect(markers).toEqual([
      { time: 60, position: "atPriceTop", price: 10.5, shape: "arrowUp", color: LONG_COLOR, text: "L", size: 1 },
      { time: 120, position: "atPriceMiddle", price: 13, shape: "circle", color: GAIN_COLOR, text: "+12.50", size: 1 },
    ]);
  });

  it("puts a short entry above its fill pointing down, and a losing exit in red", () => {
    const markers = tradeMarkers([traded(60_000, -3, 20, null, null), traded(120_000, null, null, -4, 21)], RUN);
    expect(markers.map((m) => [m.time, m.shape, m.position, m.color, m.text])).toEqual([
      [60, "arrowDown", "atPriceBottom", SHORT_COLOR, "S"],
      [120, "circle", "atPriceMiddle", LOSS_COLOR, "-4.00"],
    ]);
  });

  it("marks a reversal's exit before its entry in the same bar", () => {
    const markers = tradeMarkers([traded(60_000, -2, 15, 7, 15)], RUN);
    expect(markers.map((m) => m.shape)).toEqual(["circle", "arrowDown"]);
    expect(countTradeMarkers(markers)).toEqual({ entries: 1, exits: 1 });
  });

  it("sits beside the bar without a fill price, and ignores other runs' columns and bars without trades", () => {
    const other = bar(0, { [tradeColumn("r2", "entry")]: 1 });
    const markers = tradeMarkers([other, bar(30_000), traded(60_000, 1, null, null, null), traded(120_000, null, null, 1, null)], RUN);
    expect(markers.map((m) => [m.time, m.position])).toEqual([
      [60, "belowBar"],
      [120, "aboveBar"],
    ]);
  });

  it("drops the words when there are many trades", () => {
    const bars = Array.from({ length: 50 }, (_, i) => traded(i * 60_000, 1, 10, null, null));
    expect(tradeMarkers(bars, RUN).every((m) => m.text === "")).toBe(true);
    expect(tradeMarkers(bars.slice(0, 3), RUN).every((m) => m.text === "L")).toBe(true);
  });
});

describe("pnlText", () => {
  it("signs and shortens a P&L", () => {
    expect(pnlText(3.456)).toBe("+3.46");
    expect(pnlText(-250.4)).toBe("-250");
    expect(pnlText(0)).toBe("+0.00");
    expect(pnlText(12_345)).toMatch(/^\+12(\.\d)?K$/);
  });
});

describe("tableToBars with a run's trade columns", () => {
  it("carries them in each bar's extra, null where nothing happened", () => {
    const tsType = new Timestamp(TimeUnit.MILLISECOND, "UTC");
    const prices = ["open", "high", "low", "close", "volume"];
    const trades: [string, (number | null)[]][] = [
      [tradeColumn(RUN, "entry"), [2, null]],
      [tradeColumn(RUN, "entry_price"), [10, null]],
      [tradeColumn(RUN, "exit"), [null, -1.5]],
      [tradeColumn(RUN, "exit_price"), [null, 9]],
    ];
    const fields = [new Field("ts", tsType, false), ...prices.map((n) => new Field(n, new Float64(), false)), ...trades.map(([n]) => new Field(n, new Float64(), true))];
    const children = [
      makeData({ type: tsType, length: 2, data: BigInt64Array.from([0n, 60_000n]) }),
      ...prices.map(() => makeData({ type: new Float64(), length: 2, data: Float64Array.from([10, 10]) })),
      ...trades.map(([, values]) => {
        const data = vectorFromArray(values, new Float64()).data[0];
        if (data === undefined) throw new Error("empty vector");
        return data;
      }),
    ];
    const schema = new Schema(fields);
    const table = tableFromIPC(tableToIPC(new Table([new RecordBatch(schema, makeData({ type: new Struct(fields), length: 2, children }))]), "stream"));
    const bars = tableToBars(table);
    expect(bars[0]?.extra).toEqual({ [tradeColumn(RUN, "entry")]: 2, [tradeColumn(RUN, "entry_price")]: 10, [tradeColumn(RUN, "exit")]: null, [tradeColumn(RUN, "exit_price")]: null });
    expect(tradeMarkers(bars, RUN).map((m) => m.shape)).toEqual(["arrowUp", "circle"]);
  });
});
