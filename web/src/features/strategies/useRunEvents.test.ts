import { describe, expect, it } from "vitest";

import { parseRejection } from "../../api/endpoints/strategies";
import { parseStrategyApplied } from "./useRunEvents";

describe("parseStrategyApplied", () => {
  const event = { type: "strategy_applied", run_id: "r1", kind: "backtest", status: "complete", strategy_id: 3, strategy_name: "x", strategy_version: 1, symbol: "DEMO", timeframe: "1d", owner: "ann" };

  it("takes the event of the run followed", () => {
    expect(parseStrategyApplied(JSON.stringify(event), "r1")).toEqual(event);
  });

  it("leaves other runs' events, other events and what is not JSON", () => {
    expect(parseStrategyApplied(JSON.stringify(event), "r2")).toBeNull();
    expect(parseStrategyApplied(JSON.stringify({ ...event, type: "fetch_progress" }), "r1")).toBeNull();
    expect(parseStrategyApplied(JSON.stringify({ ...event, status: undefined }), "r1")).toBeNull();
    expect(parseStrategyApplied("not json", "r1")).toBeNull();
    expect(parseStrategyApplied(new ArrayBuffer(2), "r1")).toBeNull();
  });
});

describe("parseRejection", () => {
  it("reads the parse problems of a refused save, and nothing from another 422", () => {
    const problem = { message: "unknown name 'smaa' — did you mean sma?", line: 2, column: 5, expected: [], suggestion: "sma" };
    expect(parseRejection({ status: 422, title: "Invalid request", detail: "line 2, column 5: …", problems: [problem] })).toEqual({ detail: "line 2, column 5: …", problems: [problem] });
    expect(parseRejection({ status: 422, title: "Invalid request", detail: "name: too long", errors: [] })).toBeNull();
    expect(parseRejection("Bad Gateway")).toBeNull();
  });
});
