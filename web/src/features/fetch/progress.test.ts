import { describe, expect, it } from "vitest";

import type { FetchProgressEvent, JobStatus, SymbolProgress } from "../../api/types";
import { applyEvent, applyStatus, canCancel, explainError, laterState, mergeSymbols } from "./progress";
import { eventsUrl } from "../../api/socket";
import { parseFetchProgress } from "./useJobEvents";

const sym = (symbol: string, done: number, over: Partial<SymbolProgress> = {}): SymbolProgress => ({
  symbol, windows_done: done, windows_total: 4, windows_failed: 0, bars: done * 100, error: null, table: null, ...over,
});

const job = (state: JobStatus["state"], symbols: SymbolProgress[]): JobStatus => ({
  job_id: "j1", kind: "fetch", owner: "ana", state, created_at: "2024-01-01T00:00:00Z", updated_at: "2024-01-01T00:00:00Z", symbols,
});

const event = (state: JobStatus["state"], symbols: SymbolProgress[], jobId = "j1"): FetchProgressEvent => ({
  type: "fetch_progress", job_id: jobId, owner: "ana", state, symbols,
});

describe("merging progress", () => {
  it("never lets a state or a count go backwards", () => {
    expect(laterState("running", "queued")).toBe("running");
    expect(laterState("running", "cancelled")).toBe("cancelled");
    expect(laterState("cancelled", "running")).toBe("cancelled");
    expect(laterState("complete", "failed")).toBe("failed");
    const merged = mergeSymbols([sym("AAPL", 3), sym("MSFT", 1)], [sym("MSFT", 2, { error: "boom" }), sym("AAPL", 2), sym("SPY", 1)]);
    expect(merged.map((s) => [s.symbol, s.windows_done, s.bars, s.error])).toEqual([
      ["AAPL", 3, 300, null],
      ["MSFT", 2, 200, "boom"],
      ["SPY", 1, 100, null],
    ]);
  });

  it("applies events of its own job only, once a status is known", () => {
    const running = job("running", [sym("AAPL", 1)]);
    expect(applyEvent(null, event("running", [sym("AAPL", 2)]))).toBeNull();
    expect(applyEvent(running, event("running", [sym("AAPL", 2)], "other"))).toBe(running);
    const next = applyEvent(running, event("cancelled", [sym("AAPL", 2, { table: "aapl_1day" })]));
    expect(next?.state).toBe("cancelled");
    expect(next?.symbols[0]?.table).toBe("aapl_1day");
    // A poll answered after the event does not undo it.
    const polled = applyStatus(next, job("running", [sym("AAPL", 1)]));
    expect([polled.state, polled.symbols[0]?.windows_done]).toEqual(["cancelled", 2]);
    expect(applyStatus(null, running)).toBe(running);
  });

  it("offers a cancel only while the job runs", () => {
    expect(canCancel(null)).toBe(false);
    expect(canCancel(job("queued", []))).toBe(true);
    expect(canCancel(job("running", []))).toBe(true);
    expect(canCancel(job("cancelled", []))).toBe(false);
    expect(canCancel(job("complete", []))).toBe(false);
  });
});

describe("errors in words", () => {
  it("explains the provider's answers and keeps the message", () => {
    expect(explainError("Polygon answered 401: Unknown API Key").words).toMatch(/refused the API key/);
    expect(explainError("polygon: 403 NOT_AUTHORIZED").words).toMatch(/plan does not include/);
    const limited = explainError("Polygon answered 429 after 6 tries");
    expect(limited.words).toMatch(/rate-limiting/);
    expect(limited.detail).toBe("Polygon answered 429 after 6 tries");
    expect(explainError("polygon answered 502").words).toMatch(/could not be reached/);
    expect(explainError("cancelled").words).toMatch(/cancelled/);
    expect(explainError("something odd")).toEqual({ words: "something odd", detail: null });
  });
});

describe("the event socket", () => {
  it("builds a same-origin URL", () => {
    expect(eventsUrl({ protocol: "https:", host: "k2q.example:8443" })).toBe("wss://k2q.example:8443/api/v1/ws");
    expect(eventsUrl({ protocol: "http:", host: "localhost:5173" })).toBe("ws://localhost:5173/api/v1/ws");
  });

  it("keeps only this job's progress events", () => {
    const text = JSON.stringify(event("running", [sym("AAPL", 1)]));
    expect(parseFetchProgress(text, "j1")?.symbols).toHaveLength(1);
    expect(parseFetchProgress(text, "j2")).toBeNull();
    expect(parseFetchProgress("not json", "j1")).toBeNull();
    expect(parseFetchProgress(JSON.stringify({ type: "stock_update", job_id: "j1" }), "j1")).toBeNull();
    expect(parseFetchProgress(new ArrayBuffer(2), "j1")).toBeNull();
  });
});
