import { describe, expect, it } from "vitest";

import type { IndicatorInfo, IndicatorParameter } from "../../api/types";
import { AVWAP, BBANDS, CDLDOJI, MACD, RSI } from "./catalogFixture";
import { buildSpec, defaultValues, formProblems, parameterProblem, rangeText, valuesFromSpec } from "./parameterForm";

function param(info: IndicatorInfo, name: string): IndicatorParameter {
  const found = info.parameters.find((p) => p.name === name);
  if (found === undefined) throw new Error(`no ${name}`);
  return found;
}
const period = param(RSI, "timeperiod");
const nbdevup = param(BBANDS, "nbdevup");
const matype = param(BBANDS, "matype");
const anchor = param(AVWAP, "anchor");

describe("buildSpec", () => {
  it("is the bare name at the defaults", () => {
    expect(buildSpec(RSI, defaultValues(RSI))).toBe("rsi");
    expect(buildSpec(CDLDOJI, defaultValues(CDLDOJI))).toBe("cdldoji");
  });

  it("gives arguments in parameter order up to the last that differs from its default", () => {
    expect(buildSpec(RSI, { timeperiod: "21" })).toBe("rsi(21)");
    expect(buildSpec(BBANDS, { timeperiod: "20", nbdevup: "2.5", nbdevdn: "2", matype: "0" })).toBe("bbands(20,2.5)");
    expect(buildSpec(BBANDS, { timeperiod: "20", nbdevup: "2", nbdevdn: "2", matype: "1" })).toBe("bbands(20,2,2,1)");
    expect(buildSpec(MACD, { fastperiod: "12", slowperiod: "21", signalperiod: "9" })).toBe("macd(12,21)");
  });

  it("writes numbers as numbers and dates as dates", () => {
    expect(buildSpec(BBANDS, { timeperiod: "5", nbdevup: "2.50", nbdevdn: "2", matype: "0" })).toBe("bbands(5,2.5)");
    expect(buildSpec(AVWAP, { anchor: "2024-03-01" })).toBe("avwap(2024-03-01)");
  });
});

describe("parameterProblem", () => {
  it("wants whole numbers for integers, within the range", () => {
    expect(parameterProblem(period, "14")).toBeNull();
    expect(parameterProblem(period, "14.5")).toBe("A whole number.");
    expect(parameterProblem(period, "1")).toBe("From 2 – 100000.");
    expect(parameterProblem(period, "100001")).toBe("From 2 – 100000.");
    expect(parameterProblem(period, "")).toBe("Required.");
  });

  it("takes any number for numbers, a kind for moving averages and a real date for dates", () => {
    expect(parameterProblem(nbdevup, "-1.5e0")).toBeNull();
    expect(parameterProblem(nbdevup, "two")).toBe("A number.");
    expect(parameterProblem(matype, "8")).toBeNull();
    expect(parameterProblem(matype, "9")).toMatch(/^One of SMA, EMA, WMA, DEMA, TEMA, TRIMA, KAMA, MAMA, T3/);
    expect(parameterProblem(anchor, "2024-02-29")).toBeNull();
    expect(parameterProblem(anchor, "2023-02-29")).toBe("A date, YYYY-MM-DD.");
  });

  it("requires a date without a default", () => {
    expect(defaultValues(AVWAP)).toEqual({ anchor: "" });
    expect(formProblems(AVWAP, defaultValues(AVWAP))).toEqual({ anchor: "Required." });
    expect(formProblems(RSI, defaultValues(RSI))).toEqual({});
  });

  it("says the range in words", () => {
    expect(rangeText(period)).toBe("2 – 100000");
    expect(rangeText({ ...period, maximum: null })).toBe("≥ 2");
    expect(rangeText({ ...period, minimum: null, maximum: null })).toBe("");
  });
});

describe("valuesFromSpec", () => {
  it("reads positional and named arguments back, defaults for the rest", () => {
    expect(valuesFromSpec(BBANDS, "bbands(20,2.5)")).toEqual({ timeperiod: "20", nbdevup: "2.5", nbdevdn: "2", matype: "0" });
    expect(valuesFromSpec(MACD, "macd(fastperiod=8,slowperiod=21)")).toEqual({ fastperiod: "8", slowperiod: "21", signalperiod: "9" });
    expect(valuesFromSpec(BBANDS, "bbands(matype=ema)")).toMatchObject({ matype: "1" });
    expect(valuesFromSpec(RSI, "rsi")).toEqual({ timeperiod: "14" });
  });

  it("round-trips through the spec it builds", () => {
    const values = { timeperiod: "20", nbdevup: "2", nbdevdn: "3", matype: "0" };
    expect(valuesFromSpec(BBANDS, buildSpec(BBANDS, values))).toEqual(values);
  });
});
