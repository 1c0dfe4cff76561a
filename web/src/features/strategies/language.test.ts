import { describe, expect, it } from "vitest";

import type { IndicatorInfo } from "../../api/types";
import { problemLine, problemRange } from "./diagnostics";
import { catalogHelp, completionWords, tokenize, wordBefore } from "./language";

const types = (line: string) => tokenize(line).map((t) => `${t.text}:${t.type}`);

describe("tokenize", () => {
  it("tells rules, builtins, catalog calls, series, numbers and operators apart", () => {
    expect(types("long_entry = crossover(sma(close, fast), 30.5)")).toEqual([
      "long_entry:rule",
      "=:operator",
      "crossover:builtin",
      "(:bracket",
      "sma:function",
      "(:bracket",
      "close:series",
      ",:punctuation",
      "fast:variable",
      "):bracket",
      ",:punctuation",
      "30.5:number",
      "):bracket",
    ]);
  });

  it("reads keywords, booleans, comments, selectors, lags and two-character operators", () => {
    expect(types("x = not a and b or true  # a comment")).toEqual(["x:variable", "=:operator", "not:keyword", "a:variable", "and:keyword", "b:variable", "or:keyword", "true:bool", "# a comment:comment"]);
    expect(types("m = macd(close).signal[1] ** 2 >= 1e-3")).toEqual([
      "m:variable", "=:operator", "macd:function", "(:bracket", "close:series", "):bracket", ".:punctuation", "signal:property",
      "[:bracket", "1:number", "]:bracket", "**:operator", "2:number", ">=:operator", "1e-3:number",
    ]);
  });

  it("calls a builtin's name a variable when it is not called, and marks stray characters", () => {
    expect(types("max = 3 $")).toEqual(["max:variable", "=:operator", "3:number", "$:invalid"]);
  });
});

describe("completionWords", () => {
  const sma = { name: "SMA", display_name: "Simple Moving Average", inputs: ["close"], parameters: [{ name: "timeperiod", default: 30 }], outputs: [{ name: "real" }] } as unknown as IndicatorInfo;
  const macd = { name: "MACD", display_name: "MACD", inputs: ["close"], parameters: [], outputs: [{ name: "macd" }, { name: "macdsignal" }, { name: "macdhist" }] } as unknown as IndicatorInfo;

  it("offers rules, the text's own names, series, builtins, keywords and catalog names in lower case, once each", () => {
    const words = completionWords([sma, macd], ["fast", "close"]);
    const labels = words.map((w) => w.label);
    expect(labels).toEqual(expect.arrayContaining(["long_entry", "stop_loss", "fast", "close", "vwap", "crossover", "param", "and", "true", "sma", "macd"]));
    expect(new Set(labels).size).toBe(labels.length);
    expect(words.find((w) => w.label === "sma")).toMatchObject({ type: "function", detail: "Simple Moving Average" });
    expect(words.find((w) => w.label === "close")?.detail).toBe("price series");
  });

  it("words a catalog call with its selectors", () => {
    expect(catalogHelp(sma)).toBe("sma(close, timeperiod=30)");
    expect(catalogHelp(macd)).toBe("macd(close) → .macd .macdsignal .macdhist");
  });
});

describe("wordBefore", () => {
  it("finds the word being typed, not one in a comment", () => {
    expect(wordBefore("a = cro", 7)).toEqual({ from: 4, word: "cro" });
    expect(wordBefore("x = 1\ny = s", 11)).toEqual({ from: 10, word: "s" });
    expect(wordBefore("a = 1 # cro", 11)).toBeNull();
    expect(wordBefore("a = ", 4)).toBeNull();
  });
});

describe("problemRange", () => {
  const text = "fast = param(10)\nlong_entry = close > smaa(close, fast)\n";
  const problem = { message: "unknown name 'smaa'", line: 2, column: 22, expected: [], suggestion: "sma" };

  it("spans the token at the problem's line and column", () => {
    const range = problemRange(text, problem);
    expect(text.slice(range.from, range.to)).toBe("smaa");
    expect(range.message).toBe("unknown name 'smaa' (did you mean sma?)");
    expect(problemLine(problem)).toBe("line 2, column 22: unknown name 'smaa' (did you mean sma?)");
  });

  it("is a point at the end of a line or of the text when the problem is past it", () => {
    expect(problemRange(text, { ...problem, line: 1, column: 40 })).toMatchObject({ from: 16, to: 16 });
    expect(problemRange(text, { ...problem, line: 9, column: 1 })).toMatchObject({ from: text.length, to: text.length });
  });

  it("does not repeat a suggestion the message already names", () => {
    expect(problemRange(text, { ...problem, message: "unknown name 'smaa' — did you mean sma?" }).message).toBe("unknown name 'smaa' — did you mean sma?");
  });
});
