import { describe, expect, it } from "vitest";

import { loadedValue } from "./indicators";
import { indicatorName, shortfallNotes, shortfalls, shortfallText } from "./indicatorShortfall";
import type { Bar } from "./series";
import { fixtureColumn } from "./sliceFixture";

const rsi = fixtureColumn("rsi(14)", "real", { function: "RSI", minBars: 15, seriesRows: 10 });

describe("shortfallText", () => {
  it("says how many bars the indicator needs and how many the series has", () => {
    expect(shortfallText(rsi)).toBe("RSI(14) needs 15 bars; this series has 10");
    expect(shortfallText({ ...rsi, spec: "rsi" })).toBe("RSI needs 15 bars; this series has 10");
  });

  it("says nothing when the series is long enough or the server did not say", () => {
    expect(shortfallText({ ...rsi, seriesRows: 15 })).toBeNull();
    expect(shortfallText({ ...rsi, minBars: null })).toBeNull();
  });

  it("names an indicator by its catalog name and arguments", () => {
    expect(indicatorName({ spec: "bbands(20,2)", function: "BBANDS" })).toBe("BBANDS(20,2)");
  });
});

describe("shortfalls", () => {
  const bar = (ts: number, values: Record<string, number | null>): Bar => ({ ts, open: 1, high: 1, low: 1, close: 1, volume: 0, extra: values });

  it("lists each indicator without any value in the slice that the series is too short for", () => {
    const macd = ["macd", "macdsignal"].map((o) => fixtureColumn("macd", o, { function: "MACD", minBars: 34, seriesRows: 10 }));
    const sma = fixtureColumn("sma(5)", "real", { minBars: 5, seriesRows: 10 });
    const bars = [bar(0, { [rsi.key]: null, [sma.key]: null }), bar(1, { [rsi.key]: null, [sma.key]: 3 })];
    expect(shortfalls([rsi, ...macd, sma], bars, loadedValue)).toEqual([
      { spec: "rsi(14)", text: "RSI(14) needs 15 bars; this series has 10" },
      { spec: "macd", text: "MACD needs 34 bars; this series has 10" },
    ]);
  });

  it("lists none once a value is there (a live one included)", () => {
    const bars = [bar(0, { [rsi.key]: null })];
    expect(shortfalls([rsi], bars, () => 50)).toEqual([]);
  });
});

describe("shortfallNotes", () => {
  it("puts each shortfall on the indicator asked for as the spec the server answered", () => {
    const canonical = new Map([
      ["rsi(timeperiod=14)", "rsi(14)"],
      ["sma(5)", "sma(5)"],
    ]);
    const notes = shortfallNotes(canonical, [{ spec: "rsi(14)", text: "RSI(14) needs 15 bars; this series has 10" }]);
    expect([...notes]).toEqual([["rsi(timeperiod=14)", "RSI(14) needs 15 bars; this series has 10"]]);
  });
});
