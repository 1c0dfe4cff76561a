import { describe, expect, it } from "vitest";

import { MAX_INDICATORS, normalizeSpec, parseIndicatorList, specProblem } from "./indicators";

describe("indicator specs", () => {
  it("normalises case and spaces", () => {
    expect(normalizeSpec(" BBands(20, 2, 2) ")).toBe("bbands(20,2,2)");
    expect(normalizeSpec("RSI")).toBe("rsi");
  });

  it("accepts what may be a spec and explains what cannot", () => {
    expect(specProblem("sma(20)")).toBeNull();
    expect(specProblem("Stoch")).toBeNull();
    expect(specProblem("nosuch(3)")).toBeNull(); // the server decides whether it exists
    expect(specProblem("  ")).toMatch(/Type an indicator/);
    expect(specProblem("__import__('os')")).toMatch(/not of the form/);
    expect(specProblem("sma((20))")).toMatch(/not of the form/);
    expect(specProblem("20sma")).toMatch(/not of the form/);
  });

  it("lists unique well-formed specs up to the server's limit", () => {
    expect(parseIndicatorList(["sma(20)", "SMA(20)", "x y(", "rsi"])).toEqual(["sma(20)", "rsi"]);
    expect(parseIndicatorList(Array.from({ length: 30 }, (_, i) => `ema(${i + 2})`))).toHaveLength(MAX_INDICATORS);
  });
});
