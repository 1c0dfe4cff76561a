import { describe, expect, it } from "vitest";

import { defaultFormValues, isTerminal, parseSymbols, progressFraction, validateFetchForm } from "./form";

const base = defaultFormValues(new Date(Date.UTC(2024, 5, 30)));

describe("parseSymbols", () => {
  it("splits, upper-cases and de-duplicates", () => {
    expect(parseSymbols(" aapl, msft;spy\n\taapl  brk.b ")).toEqual(["AAPL", "MSFT", "SPY", "BRK.B"]);
    expect(parseSymbols(" , ")).toEqual([]);
  });
});

describe("validateFetchForm", () => {
  it("builds the request", () => {
    const result = validateFetchForm({ ...base, symbols: "aapl msft", multiplier: "5", timespan: "minute", source: "synthetic" });
    expect(result).toEqual({
      ok: true,
      request: { symbols: ["AAPL", "MSFT"], market: false, timespan: "minute", multiplier: 5, from: "2023-06-30", to: "2024-06-30", adjusted: true, source: "synthetic" },
    });
  });

  it("reports each bad field", () => {
    const result = validateFetchForm({ ...base, symbols: "", multiplier: "0", from: "2024-02-01", to: "2024-01-01" });
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(Object.keys(result.errors).sort()).toEqual(["multiplier", "symbols", "to"]);
    }
    const bad = validateFetchForm({ ...base, symbols: "AAPL, $$$", multiplier: "1.5", from: "" });
    expect(bad.ok ? [] : Object.keys(bad.errors).sort()).toEqual(["from", "multiplier", "symbols"]);
  });
});

describe("job helpers", () => {
  it("knows terminal states and progress", () => {
    expect(isTerminal("running")).toBe(false);
    expect(isTerminal("complete")).toBe(true);
    expect(progressFraction({ windows_done: 3, windows_total: 4 })).toBe(0.75);
    expect(progressFraction({ windows_done: 0, windows_total: 0 })).toBe(0);
    expect(progressFraction({ windows_done: 0, windows_total: 0 }, true)).toBe(1);
  });
});
