import { describe, expect, it } from "vitest";

import { formatActiveIndicator, MAX_INDICATORS, normalizeColor, normalizeSpec, parseActiveIndicator, parseActiveIndicators, specName, specProblem } from "./indicators";

describe("indicator specs", () => {
  it("normalises case and spaces", () => {
    expect(normalizeSpec(" BBands(20, 2, 2) ")).toBe("bbands(20,2,2)");
    expect(normalizeSpec("RSI")).toBe("rsi");
    expect(normalizeSpec("MACD(fastperiod=8, slowperiod=21)")).toBe("macd(fastperiod=8,slowperiod=21)");
  });

  it("accepts what may be a spec and explains what cannot", () => {
    expect(specProblem("sma(20)")).toBeNull();
    expect(specProblem("Stoch")).toBeNull();
    expect(specProblem("avwap(2024-03-01)")).toBeNull();
    expect(specProblem("nosuch(3)")).toBeNull(); // the server decides whether it exists
    expect(specProblem("  ")).toMatch(/Type an indicator/);
    expect(specProblem("__import__('os')")).toMatch(/not of the form/);
    expect(specProblem("sma((20))")).toMatch(/not of the form/);
    expect(specProblem("20sma")).toMatch(/not of the form/);
    expect(specProblem("sma(2;0)")).toMatch(/not of the form/);
  });

  it("names the function of a spec", () => {
    expect(specName("bbands(20,2)")).toBe("bbands");
    expect(specName("rsi")).toBe("rsi");
  });
});

describe("indicators in the URL", () => {
  it("reads a plain spec (older links) as shown in its palette colour", () => {
    expect(parseActiveIndicator("SMA( 20 )")).toEqual({ spec: "sma(20)", hidden: false, color: null });
  });

  it("reads and writes the hidden flag and a colour", () => {
    expect(parseActiveIndicator("rsi(14);hide;c=C084FC")).toEqual({ spec: "rsi(14)", hidden: true, color: "#c084fc" });
    expect(formatActiveIndicator({ spec: "rsi(14)", hidden: true, color: "#c084fc" })).toBe("rsi(14);c=c084fc;hide");
    expect(formatActiveIndicator({ spec: "rsi(14)", hidden: false, color: null })).toBe("rsi(14)");
  });

  it("ignores unknown flags and bad colours, and drops what cannot be a spec", () => {
    expect(parseActiveIndicator("ema(9);c=red;bold")).toEqual({ spec: "ema(9)", hidden: false, color: null });
    expect(parseActiveIndicator("x y(;hide")).toBeNull();
    expect(normalizeColor("#ABCDEF")).toBe("#abcdef");
    expect(normalizeColor("abc")).toBeNull();
  });

  it("lists one indicator per spec, up to the server's limit", () => {
    expect(parseActiveIndicators(["sma(20)", "SMA(20);hide", "x y(", "rsi"]).map((i) => i.spec)).toEqual(["sma(20)", "rsi"]);
    expect(parseActiveIndicators(Array.from({ length: 30 }, (_, i) => `ema(${i + 2})`))).toHaveLength(MAX_INDICATORS);
  });
});
