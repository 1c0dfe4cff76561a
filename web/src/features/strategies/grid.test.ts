import { describe, expect, it } from "vitest";

import type { ParamSpec } from "../../api/types";
import { parseGrid, parseGridValues, suggestedRange } from "./grid";

const fast: ParamSpec = { name: "fast", default: 10, minimum: 2, maximum: 100, integer: true };
const mult: ParamSpec = { name: "mult", default: 2, minimum: null, maximum: null, integer: false };

describe("parseGridValues", () => {
  it("reads a range, stop included when a step lands on it", () => {
    expect(parseGridValues("10:30:10", fast)).toEqual({ values: [10, 20, 30] });
    expect(parseGridValues("10:35:10", fast)).toEqual({ values: [10, 20, 30] });
    expect(parseGridValues(" 5 : 7 ", fast)).toEqual({ values: [5, 6, 7] });
  });

  it("keeps float steps free of rounding noise", () => {
    expect(parseGridValues("0.1:0.5:0.1", mult)).toEqual({ values: [0.1, 0.2, 0.3, 0.4, 0.5] });
    expect(parseGridValues("1:2:0.25", mult)).toEqual({ values: [1, 1.25, 1.5, 1.75, 2] });
  });

  it("reads a list, by commas or spaces, sorted and without repeats", () => {
    expect(parseGridValues("20, 5 10,5", fast)).toEqual({ values: [5, 10, 20] });
    expect(parseGridValues("7", fast)).toEqual({ values: [7] });
  });

  it("refuses what the parameter cannot take, saying why", () => {
    expect(parseGridValues("1.5, 2", fast)).toEqual({ error: "fast takes whole numbers" });
    expect(parseGridValues("1:10:1", fast)).toEqual({ error: "1 is outside 2…100" });
    expect(parseGridValues("10:5:1", fast)).toEqual({ error: "the stop must not be below the start" });
    expect(parseGridValues("5:10:0", fast)).toEqual({ error: "the step must be above 0" });
    expect(parseGridValues("5:x", fast)).toEqual({ error: "a range is start:stop:step, in numbers" });
    expect(parseGridValues("5, ten", fast)).toEqual({ error: "'ten' is not a number" });
    expect(parseGridValues("0:5000:1", mult)).toMatchObject({ error: expect.stringMatching(/^at most 1000 values/) as unknown });
  });
});

describe("parseGrid", () => {
  it("sweeps the parameters with text and counts the combinations", () => {
    const parsed = parseGrid([fast, mult], { fast: "10:30:10", mult: "1, 2" });
    expect(parsed).toEqual({ grid: { fast: [10, 20, 30], mult: [1, 2] }, combinations: 6, problems: {}, problem: null });
    expect(parseGrid([fast, mult], { fast: "5", mult: " " }).grid).toEqual({ fast: [5] });
  });

  it("says what is wrong: a parameter's text, nothing swept, too many combinations", () => {
    expect(parseGrid([fast], { fast: "1" }).problems).toEqual({ fast: "1 is outside 2…100" });
    expect(parseGrid([fast], {}).problem).toBe("Give values to at least one parameter.");
    const big = parseGrid([fast, mult], { fast: "2:100:1", mult: "1:200:1" });
    expect(big.combinations).toBe(99 * 200);
    expect(big.problem).toBe("19,800 combinations: at most 10,000.");
  });
});

describe("suggestedRange", () => {
  it("spans half to twice the default within the bounds", () => {
    expect(suggestedRange(fast)).toBe("5:20:3");
    expect(suggestedRange({ ...fast, default: 80 })).toBe("40:100:12");
    expect(parseGridValues(suggestedRange(mult), mult)).toEqual({ values: [1, 1.6, 2.2, 2.8, 3.4, 4] });
  });
});
