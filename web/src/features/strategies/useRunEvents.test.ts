import { describe, expect, it } from "vitest";

import { parseRejection } from "../../api/endpoints/strategies";
import { parseRunEvent, parseStrategyApplied } from "./useRunEvents";

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

describe("parseRunEvent", () => {
  const applied = { type: "strategy_applied", run_id: "r1", kind: "sweep", status: "complete", strategy_id: 3, strategy_name: "x", strategy_version: 1, symbol: "DEMO", timeframe: "1d", owner: "ann" };
  const progress = { type: "fetch_progress", job_id: "j1", owner: "ann", state: "running", symbols: [{ symbol: "r1", windows_done: 37, windows_total: 100 }] };

  it("takes the run's events and its job's progress", () => {
    expect(parseRunEvent(JSON.stringify(applied), "r1", "j1")).toEqual(applied);
    expect(parseRunEvent(JSON.stringify(progress), "r1", "j1")).toEqual(progress);
  });

  it("leaves other jobs' progress, and any progress before the job is known", () => {
    expect(parseRunEvent(JSON.stringify(progress), "r1", "j2")).toBeNull();
    expect(parseRunEvent(JSON.stringify(progress), "r1", null)).toBeNull();
    expect(parseRunEvent(JSON.stringify(applied), "r2", "j1")).toBeNull();
  });

  it("leaves the job's last event (the run's own event tells how it ended)", () => {
    expect(parseRunEvent(JSON.stringify({ ...progress, state: "complete" }), "r1", "j1")).toBeNull();
    expect(parseRunEvent(JSON.stringify({ ...progress, state: "cancelled" }), "r1", "j1")).toBeNull();
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
