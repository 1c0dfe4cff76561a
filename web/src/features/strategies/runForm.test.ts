import { describe, expect, it } from "vitest";

import type { ParamSpec } from "../../api/types";
import { backtestRequest, DEFAULT_OPTIMISE, defaultSettings, fraction, optimiseProblems, type RunSeries, settingsProblems, sweepRequest, walkForwardRequest } from "./runForm";

const series: RunSeries = { table: "demo_1_day", symbol: "DEMO", adjusted: true, timeframe: "1d", session: "extended" };
const specs: ParamSpec[] = [
  { name: "fast", default: 10, minimum: 2, maximum: 100, integer: true },
  { name: "mult", default: 1.5, minimum: null, maximum: null, integer: false },
];

describe("settingsProblems", () => {
  it("finds nothing wrong with the defaults", () => {
    expect(settingsProblems(defaultSettings(series), specs)).toEqual({});
  });

  it("names each bad field", () => {
    const bad = { ...defaultSettings(series), timeframe: "2d", from: "2024-13-45", cash: "0", commissionPct: "-1", slippagePct: "x", params: { fast: "1.5", mult: "abc" } };
    expect(settingsProblems(bad, specs)).toEqual({
      timeframe: "Not a timeframe.",
      from: "A date, YYYY-MM-DD.",
      cash: "Above 0, at most 10¹².",
      commissionPct: "From 0 up to 10 (%).",
      slippagePct: "From 0 up to 10 (%).",
      "param:fast": "A whole number.",
      "param:mult": "Not a number.",
    });
    expect(settingsProblems({ ...defaultSettings(series), params: { fast: "101" } }, specs)).toEqual({ "param:fast": "At most 100." });
    expect(settingsProblems({ ...defaultSettings(series), from: "2024-05-01", to: "2024-01-01" }, specs)).toEqual({ to: "After the start." });
  });
});

describe("backtestRequest", () => {
  it("names the chart's series and sends percentages as fractions and only the overrides given", () => {
    const settings = { ...defaultSettings(series), from: "2024-01-01", cash: "25000", commissionPct: "0.1", slippagePct: "0.05", mode: "backtesting.py" as const, params: { fast: "12", mult: " " } };
    expect(backtestRequest(7, series, settings, specs)).toEqual({
      strategy: 7,
      table: "demo_1_day",
      adjusted: true,
      session: "extended",
      timeframe: "1d",
      from: "2024-01-01",
      params: { fast: 12 },
      cash: 25000,
      commission: 0.001,
      slippage: 0.0005,
      mode: "backtesting.py",
    });
  });

  it("leaves the timeframe to the server when none is chosen", () => {
    expect(backtestRequest(1, { ...series, timeframe: null }, defaultSettings({ timeframe: null }), specs)).not.toHaveProperty("timeframe");
  });

  it("turns percentages into fractions without float noise", () => {
    expect(fraction("0.07")).toBe(0.0007);
    expect(fraction("")).toBe(0);
  });
});

describe("sweep and walk-forward requests", () => {
  const base = backtestRequest(7, series, { ...defaultSettings(series), params: { fast: "12", mult: "2" } }, specs);

  it("add the grid and metric, dropping overrides of swept parameters", () => {
    const sweep = sweepRequest(base, { fast: [5, 10] }, { ...DEFAULT_OPTIMISE, metric: "total_return_pct" });
    expect(sweep).toMatchObject({ grid: { fast: [5, 10] }, metric: "total_return_pct", params: { mult: 2 } });
    const wf = walkForwardRequest(base, { fast: [5, 10] }, { metric: "sharpe", folds: "4", inSamplePct: "70" });
    expect(wf).toMatchObject({ folds: 4, in_sample_ratio: 0.7, metric: "sharpe" });
  });

  it("check the walk-forward options only for a walk-forward run", () => {
    const bad = { metric: "sharpe" as const, folds: "1", inSamplePct: "99" };
    expect(optimiseProblems(bad, false)).toEqual({});
    expect(optimiseProblems(bad, true)).toEqual({ folds: "A whole number from 2 to 20.", inSamplePct: "Between 20 and 95 (%)." });
  });
});
