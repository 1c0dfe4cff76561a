import { describe, expect, it } from "vitest";

import { INDICATOR_COLORS } from "./indicatorColors";
import { canonicalSpecs, indicatorSelection } from "./indicatorSelection";
import { fixtureColumn } from "./sliceFixture";

const [c0, c1, c2, c3] = INDICATOR_COLORS;
// The server answers each spec in canonical form, one indicator after another in the order asked.
const COLUMNS = [
  fixtureColumn("macd(8,21)", "macd"),
  fixtureColumn("macd(8,21)", "macdsignal"),
  fixtureColumn("macd(8,21)", "macdhist"),
  fixtureColumn("rsi", "real"),
  fixtureColumn("ema(50)", "real", { overlay: true }),
];
const REQUESTED = ["macd(fastperiod=8,slowperiod=21)", "rsi", "ema(50)"];

describe("canonicalSpecs", () => {
  it("matches the specs asked for to the specs answered, by position", () => {
    expect([...canonicalSpecs(REQUESTED, COLUMNS)]).toEqual([
      ["macd(fastperiod=8,slowperiod=21)", "macd(8,21)"],
      ["rsi", "rsi"],
      ["ema(50)", "ema(50)"],
    ]);
  });

  it("matches by equal text only when the server merged two specs into one", () => {
    const columns = [fixtureColumn("rsi(14)", "real")];
    expect([...canonicalSpecs(["rsi", "rsi(14)"], columns)]).toEqual([["rsi(14)", "rsi(14)"]]);
  });
});

describe("indicatorSelection", () => {
  it("draws the shown indicators' columns in their colours, and leaves hidden ones out", () => {
    const indicators = [
      { spec: "macd(fastperiod=8,slowperiod=21)", hidden: false, color: null },
      { spec: "rsi", hidden: true, color: null },
      { spec: "ema(50)", hidden: false, color: "#abcdef" },
    ];
    const selection = indicatorSelection(indicators, REQUESTED, COLUMNS);
    expect(selection.columns.map((c) => c.key)).toEqual(["ind:macd(8,21):macd", "ind:macd(8,21):macdsignal", "ind:macd(8,21):macdhist", "ind:ema(50):real"]);
    expect(selection.colors.get("macd(8,21)")).toEqual([c0, c1, c2]);
    // Hidden, RSI keeps its colour slot, so showing it again changes no other colour.
    expect(selection.colors.get("rsi")).toEqual([c3]);
    expect(selection.colors.get("ema(50)")).toEqual(["#abcdef"]);
    expect([...selection.colorOf]).toEqual([
      ["macd(fastperiod=8,slowperiod=21)", c0],
      ["rsi", c3],
      ["ema(50)", "#abcdef"],
    ]);
  });

  it("draws nothing of an indicator the loaded slice did not ask for yet", () => {
    const indicators = [
      { spec: "rsi", hidden: false, color: null },
      { spec: "sma(20)", hidden: false, color: null },
    ];
    const selection = indicatorSelection(indicators, ["rsi"], [fixtureColumn("rsi", "real")]);
    expect(selection.columns.map((c) => c.spec)).toEqual(["rsi"]);
    expect(selection.canonical.has("sma(20)")).toBe(false);
    expect(selection.colorOf.get("sma(20)")).toBe(c1);
  });
});
