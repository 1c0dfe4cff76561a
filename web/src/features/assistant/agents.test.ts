// The agent task form's requests, a ranking's columns, and a task's progress and usage in words.
import { describe, expect, it } from "vitest";

import { EMPTY_AGENT_FORM, rankingColumns, stepsDone, taskRequest, usageLine } from "./agents";
import type { AgentTask } from "./types";

describe("taskRequest", () => {
  it("asks for a universe backtest with its symbols upper case, each once, and the dates given", () => {
    expect(taskRequest({ ...EMPTY_AGENT_FORM, symbols: "aapl, msft;AAPL  nvda", start: "2023-01-01", rankBy: "sortino" })).toEqual({
      request: { params: { workflow: "backtest_universe", symbols: ["AAPL", "MSFT", "NVDA"], timeframe: "1d", start: "2023-01-01", indicator: "rsi(14)", rank_by: "sortino" } },
    });
  });

  it("asks for research with its goal", () => {
    expect(taskRequest({ ...EMPTY_AGENT_FORM, workflow: "research", goal: "  Which of my symbols trend?  " })).toEqual({ request: { params: { workflow: "research", goal: "Which of my symbols trend?" } } });
  });

  it("says what is missing or wrong", () => {
    expect(taskRequest({ ...EMPTY_AGENT_FORM, symbols: " , " })).toEqual({ problem: "Name at least one symbol." });
    expect(taskRequest({ ...EMPTY_AGENT_FORM, symbols: "A$B" })).toEqual({ problem: "“A$B” is not a symbol." });
    expect(taskRequest({ ...EMPTY_AGENT_FORM, symbols: "A", start: "2024-02-01", end: "2024-01-01" })).toEqual({ problem: "The start is after the end." });
    expect(taskRequest({ ...EMPTY_AGENT_FORM, workflow: "research" })).toEqual({ problem: "Say what to research." });
  });
});

describe("task views", () => {
  it("puts the symbol and the ranked metric first", () => {
    expect(rankingColumns([{ sharpe: 1.2, total_return_pct: 10, symbol: "AAPL", trades: [1] }], "total_return_pct")).toEqual(["symbol", "total_return_pct", "sharpe"]);
  });

  it("counts finished steps and words the usage", () => {
    const task = {
      steps: [
        { index: 0, name: "fetch", state: "complete" },
        { index: 1, name: "rank", state: "running" },
      ],
    } as AgentTask;
    expect(stepsDone(task)).toEqual([1, 2]);
    expect(usageLine([{ provider: "openai", model: "m", input_tokens: 1000, output_tokens: 234 }], 0.0123)).toBe("m: 1,234 tokens · $0.0123");
    expect(usageLine([], null)).toBeNull();
  });
});
