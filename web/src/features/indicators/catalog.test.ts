import { describe, expect, it } from "vitest";

import { GROUP_ORDER, groupCatalog, infoForSpec, searchCatalog } from "./catalog";
import { BBANDS, CATALOG, RSI } from "./catalogFixture";

const names = (items: { name: string }[]): string[] => items.map((i) => i.name);

describe("groupCatalog", () => {
  it("groups as TA-Lib does, then ours, each by name", () => {
    expect(groupCatalog(CATALOG).map((g) => [g.group, names(g.items)])).toEqual([
      ["Overlap Studies", ["BBANDS", "EMA", "MAVP", "SMA"]],
      ["Momentum Indicators", ["MACD", "RSI"]],
      ["Pattern Recognition", ["CDLDOJI"]],
      ["Cycle Indicators", ["HT_SINE"]],
      ["Math Operators", ["ADD"]],
      ["K2 Quant", ["AVWAP", "VWAP"]],
    ]);
  });

  it("puts a group it does not know after the known ones", () => {
    const odd = { ...RSI, name: "ODD", group: "Aardvark Studies" };
    expect(groupCatalog([odd, RSI]).map((g) => g.group)).toEqual(["Momentum Indicators", "Aardvark Studies"]);
    expect(GROUP_ORDER.at(-1)).toBe("K2 Quant");
  });
});

describe("searchCatalog", () => {
  it("matches name and display name, any case, the name itself first", () => {
    expect(names(searchCatalog(CATALOG, "rsi"))).toEqual(["RSI"]);
    expect(names(searchCatalog(CATALOG, "moving average"))).toEqual(["EMA", "MACD", "MAVP", "SMA"]);
    expect(names(searchCatalog(CATALOG, "Bollinger"))).toEqual(["BBANDS"]);
    expect(names(searchCatalog(CATALOG, "vwap"))).toEqual(["VWAP", "AVWAP"]);
  });

  it("searches a spec typed in full by its name, and lists everything for no text", () => {
    expect(names(searchCatalog(CATALOG, "rsi(14)"))).toEqual(["RSI"]);
    expect(searchCatalog(CATALOG, "  ")).toHaveLength(CATALOG.length);
    expect(searchCatalog(CATALOG, "nosuch")).toEqual([]);
  });
});

describe("infoForSpec", () => {
  it("finds a spec's function in the catalog", () => {
    expect(infoForSpec(CATALOG, "bbands(20,2.5)")).toBe(BBANDS);
    expect(infoForSpec(CATALOG, "RSI")).toBe(RSI);
    expect(infoForSpec(CATALOG, "nosuch(3)")).toBeNull();
  });
});
