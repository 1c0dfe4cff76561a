// The projection and evaluation forms: defaults, each field's problems, the requests they make.
import { describe, expect, it } from "vitest";

import {
  DEFAULT_EVALUATION,
  DEFAULT_FORM,
  evaluationProblems,
  evaluationRequest,
  formProblems,
  methodInfo,
  METHODS,
  paramProblem,
  projectionRequest,
  requestParams,
} from "./projectionForm";

const SERIES = { table: "demo_1_day", symbol: "DEMO", timeframe: "1d" as const, adjusted: true, session: "extended" as const };

describe("projection form", () => {
  it("offers every method with the server's defaults", () => {
    expect(METHODS.map((m) => m.method)).toEqual(["naive", "linreg", "gbm", "ets", "autoarima"]);
    const defaults = (method: (typeof METHODS)[number]["method"]) => Object.fromEntries(methodInfo(method).params.map((p) => [p.name, p.default]));
    expect(defaults("linreg")).toEqual({ window: 100, k: 2 });
    expect(defaults("gbm")).toEqual({ window: 252, paths: 1000, seed: 0 });
    expect(defaults("ets")).toEqual({ window: 1000 });
    expect(defaults("autoarima")).toEqual({ window: 1000 });
    expect(defaults("naive")).toEqual({ window: 252 });
  });

  it("is valid as it opens, and sends every parameter with the value it will use", () => {
    expect(formProblems(DEFAULT_FORM)).toEqual({});
    expect(projectionRequest(SERIES, DEFAULT_FORM)).toEqual({
      table: "demo_1_day",
      timeframe: "1d",
      method: "gbm",
      horizon: 20,
      params: { window: 252, paths: 1000, seed: 0, level: 80 },
      session: "extended",
    });
    const typed = { method: "ets" as const, horizon: " 5 ", level: "95", params: { window: "500" } };
    expect(projectionRequest(SERIES, typed)).toMatchObject({ method: "ets", horizon: 5, params: { window: 500, level: 95 } });
  });

  it("sends no level for linreg, whose band is ± k standard errors", () => {
    const typed = { method: "linreg" as const, horizon: "5", level: "not read", params: { k: "1.5", window: "" } };
    expect(formProblems(typed)).toEqual({});
    expect(projectionRequest(SERIES, typed).params).toEqual({ window: 100, k: 1.5 });
  });

  it("says what is wrong with each field", () => {
    const form = { method: "gbm" as const, horizon: "1001", level: "100", params: { paths: "2.5", seed: "-1", window: "x" } };
    expect(formProblems(form)).toEqual({
      horizon: "A whole number from 1 to 1,000.",
      level: "At most 99.9.",
      "param:paths": "A whole number.",
      "param:seed": "At least 0.",
      "param:window": "Not a number.",
    });
    expect(formProblems({ ...DEFAULT_FORM, horizon: "0" }).horizon).toBe("A whole number from 1 to 1,000.");
    const k = methodInfo("linreg").params.find((p) => p.name === "k");
    expect(k).toBeDefined();
    if (k === undefined) return;
    expect(paramProblem(k, "0")).toBe("At least 0.1.");
    expect(paramProblem(k, "")).toBeNull();
    expect(paramProblem(k, "11")).toBe("At most 10.");
  });

  it("checks only the chosen method's parameters", () => {
    expect(formProblems({ ...DEFAULT_FORM, method: "ets", params: {} })).toEqual({});
    expect(requestParams({ ...DEFAULT_FORM, method: "naive" })).toEqual({ window: 252, level: 80 });
  });
});

describe("evaluation form", () => {
  it("ranks every method by default (none named), with cuts up to 100", () => {
    expect(evaluationProblems(DEFAULT_EVALUATION)).toEqual({});
    expect(evaluationRequest(SERIES, DEFAULT_EVALUATION)).toEqual({ table: "demo_1_day", timeframe: "1d", session: "extended", horizon: 20, cuts: 20 });
    expect(evaluationRequest(SERIES, { ...DEFAULT_EVALUATION, methods: ["gbm", "naive"] }).methods).toEqual(["naive", "gbm"]);
    expect(evaluationProblems({ horizon: "5", cuts: "101", methods: [] })).toEqual({ cuts: "A whole number from 1 to 100.", methods: "At least one method." });
  });
});
