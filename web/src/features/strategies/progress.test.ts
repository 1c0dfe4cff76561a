import { describe, expect, it } from "vitest";

import type { JobStatus, SymbolProgress } from "../../api/types";
import { failureTitle, mayCancel, runProgress } from "./progress";

const entry = (done: number, total: number, symbol = "r1"): SymbolProgress => ({ symbol, windows_done: done, windows_total: total, windows_failed: 0, bars: 0, error: null, table: null });
const job = (state: JobStatus["state"], symbols: SymbolProgress[]): JobStatus => ({
  job_id: "j1", kind: "strategy_run", owner: "ann", state, created_at: "2024-01-01T00:00:00Z", updated_at: "2024-01-01T00:00:00Z", symbols,
});

describe("runProgress", () => {
  it("counts a sweep's combinations and a walk-forward's folds from the job's entry for the run", () => {
    expect(runProgress("sweep", "r1", job("running", [entry(37, 100)]))).toEqual({ done: 37, total: 100, fraction: 0.37, text: "37 of 100 combinations" });
    expect(runProgress("walk_forward", "r1", job("running", [entry(3, 5)]))?.text).toBe("3 of 5 folds");
    expect(runProgress("sweep", "r1", job("running", [entry(1234, 10000)]))?.text).toBe("1,234 of 10,000 combinations");
    expect(runProgress("sweep", "r1", job("running", [entry(0, 1)]))?.text).toBe("0 of 1 combination");
  });

  it("says nothing before the steps are counted, of a backtest, or of another run's entry", () => {
    expect(runProgress("sweep", "r1", null)).toBeNull();
    expect(runProgress("sweep", "r1", job("queued", [entry(0, 0)]))).toBeNull();
    expect(runProgress("sweep", "r1", job("running", []))).toBeNull();
    expect(runProgress("sweep", "r1", job("running", [entry(5, 10, "r2")]))).toBeNull();
    expect(runProgress("backtest", "r1", job("running", [entry(0, 1)]))).toBeNull();
  });

  it("never reports more done than there is", () => {
    expect(runProgress("sweep", "r1", job("running", [entry(12, 10)]))).toMatchObject({ done: 10, fraction: 1 });
  });
});

describe("mayCancel", () => {
  const run = { status: "running", job_id: "j1", owner: "ann" } as const;

  it("lets an analyst cancel their own running or queued run, and an admin anyone's", () => {
    expect(mayCancel(run, { username: "ann", role: "analyst" })).toBe(true);
    expect(mayCancel({ ...run, status: "queued" }, { username: "ann", role: "analyst" })).toBe(true);
    expect(mayCancel(run, { username: "root", role: "admin" })).toBe(true);
  });

  it("offers nothing to others, viewers, nobody, or once the run has finished or has no job", () => {
    expect(mayCancel(run, { username: "bob", role: "analyst" })).toBe(false);
    expect(mayCancel(run, { username: "ann", role: "viewer" })).toBe(false);
    expect(mayCancel(run, null)).toBe(false);
    expect(mayCancel({ ...run, status: "complete" }, { username: "ann", role: "analyst" })).toBe(false);
    expect(mayCancel({ ...run, status: "failed" }, { username: "root", role: "admin" })).toBe(false);
    expect(mayCancel({ ...run, job_id: null }, { username: "ann", role: "analyst" })).toBe(false);
  });
});

describe("failureTitle", () => {
  it("tells a cancel from a failure", () => {
    expect(failureTitle("the run's job was cancelled")).toBe("The run was cancelled");
    expect(failureTitle("cancelled after 37 of 100")).toBe("The run was cancelled");
    expect(failureTitle("no bars in the window")).toBe("The run failed");
    expect(failureTitle(null)).toBe("The run failed");
  });
});
