// Server events → the query cache: each event invalidates or updates exactly the queries whose data it changes.
import { QueryClient, QueryObserver } from "@tanstack/react-query";
import { afterEach, describe, expect, it } from "vitest";

import type { StockUpdate, StrategyApplied } from "../api/events";
import type { Dataset, FetchProgressEvent, JobStatus, SymbolProgress } from "../api/types";
import { accountKeys } from "./keys/account";
import { adminKeys } from "./keys/admin";
import { datasetKeys } from "./keys/datasets";
import { healthKeys } from "./keys/health";
import { jobKeys } from "./keys/jobs";
import { strategyKeys } from "./keys/strategies";
import { applyServerEvent } from "./serverEvents";

function dataset(table: string, symbol: string, adjusted = true): Dataset {
  return {
    table, symbol, timespan: "minute", multiplier: 1, adjusted, source: "synthetic", total_records: 10,
    date_range: { from: "2024-01-02", to: "2024-01-03" }, first_bar: null, last_bar: null,
    created_at: "2024-01-03T00:00:00Z", updated_at: "2024-01-03T00:00:00Z", last_accessed: null, quality: null,
  };
}

const progress = (done: number): SymbolProgress => ({ symbol: "AAPL", windows_done: done, windows_total: 4, windows_failed: 0, bars: done * 10, error: null, table: null });
const job = (jobId: string, state: JobStatus["state"], done: number): JobStatus => ({
  job_id: jobId, kind: "fetch", owner: "ann", state, created_at: "", updated_at: "", error: null, message: null, symbols: [progress(done)],
});
const fetchProgress = (jobId: string, state: JobStatus["state"], done: number): FetchProgressEvent => ({
  type: "fetch_progress", job_id: jobId, owner: "ann", state, symbols: [progress(done)],
});
const minute = (symbol: string, closed: boolean, adjusted = true): StockUpdate => ({
  type: "stock_update", symbol, adjusted, ts: 0, open: 1, high: 1, low: 1, close: 1, volume: 1, vwap: null, transactions: null,
  closed, series: ["1m"], source: "synthetic",
});

const LIST = [dataset("aapl_1min", "AAPL"), dataset("aapl_1min_raw", "AAPL", false), dataset("msft_1min", "MSFT")];
const REPORT_WINDOW = { limit: 10 };
const KEYS = {
  list: datasetKeys.list(),
  aapl: datasetKeys.qualityReport("aapl_1min", REPORT_WINDOW),
  aaplRaw: datasetKeys.qualityReport("aapl_1min_raw", REPORT_WINDOW),
  msft: datasetKeys.qualityReport("msft_1min", REPORT_WINDOW),
  j1: jobKeys.status("j1"),
  j2: jobKeys.status("j2"),
  readiness: healthKeys.readiness(),
  myKeys: accountKeys.apiKeys("ann"),
  users: adminKeys.users(),
  run: strategyKeys.run("r1"),
  runEquity: strategyKeys.equity("r1", 100),
  otherRun: strategyKeys.run("r2"),
  runsOf: strategyKeys.runsOf(7),
  strategies: strategyKeys.list(),
} as const;
type Name = keyof typeof KEYS;

/** A real client holding a query for every key, each with an observer (so invalidation may refetch it). */
function seededClient() {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  const data: Record<Name, unknown> = {
    list: LIST, aapl: "report", aaplRaw: "report", msft: "report", j1: job("j1", "running", 1), j2: job("j2", "running", 1),
    readiness: { ok: true }, myKeys: [], users: [], run: { status: "running" }, runEquity: { points: [] }, otherRun: { status: "complete" }, runsOf: [], strategies: [],
  };
  const fetched: Name[] = [];
  const stops: (() => void)[] = [];
  for (const name of Object.keys(KEYS) as Name[]) {
    client.setQueryData(KEYS[name], data[name]);
    const observer = new QueryObserver(client, {
      queryKey: KEYS[name],
      queryFn: () => {
        fetched.push(name);
        return Promise.resolve(data[name]);
      },
      staleTime: Infinity,
    });
    stops.push(observer.subscribe(() => undefined));
  }
  const invalidated = (): Name[] => (Object.keys(KEYS) as Name[]).filter((name) => client.getQueryState(KEYS[name])?.isInvalidated === true);
  cleanups.push(() => {
    for (const stop of stops) stop();
    client.clear();
  });
  return { client, invalidated, fetched };
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

const settled = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("applyServerEvent", () => {
  it("merges a running job's progress into its status, and invalidates nothing", async () => {
    const { client, invalidated, fetched } = seededClient();
    applyServerEvent(client, fetchProgress("j1", "running", 3));
    await settled();
    expect(client.getQueryData<JobStatus>(KEYS.j1)?.symbols[0]?.windows_done).toBe(3);
    expect(client.getQueryData<JobStatus>(KEYS.j2)?.symbols[0]?.windows_done).toBe(1);
    expect(invalidated()).toEqual([]);
    expect(fetched).toEqual([]);
  });

  it("never moves progress backwards", () => {
    const { client } = seededClient();
    applyServerEvent(client, fetchProgress("j1", "running", 3));
    applyServerEvent(client, fetchProgress("j1", "queued", 2));
    expect(client.getQueryData<JobStatus>(KEYS.j1)).toMatchObject({ state: "running", symbols: [{ windows_done: 3 }] });
  });

  it("reads a finished job's stored status and every dataset query again, and nothing else", async () => {
    const { client, invalidated, fetched } = seededClient();
    applyServerEvent(client, fetchProgress("j1", "complete", 4));
    expect(client.getQueryData<JobStatus>(KEYS.j1)?.state).toBe("complete");
    expect(invalidated()).toEqual(["list", "aapl", "aaplRaw", "msft", "j1"]);
    await settled();
    expect(fetched.sort()).toEqual(["aapl", "aaplRaw", "j1", "list", "msft"]);
  });

  it("leaves alone a job nobody follows", async () => {
    const { client, invalidated } = seededClient();
    applyServerEvent(client, fetchProgress("j9", "running", 1));
    await settled();
    expect(client.getQueryData(jobKeys.status("j9"))).toBeUndefined();
    expect(invalidated()).toEqual([]);
  });

  it("marks the list and the quality of the symbol's series stale after a stored minute, without reading them now", async () => {
    const { client, invalidated, fetched } = seededClient();
    applyServerEvent(client, minute("AAPL", true));
    await settled();
    expect(invalidated()).toEqual(["list", "aapl"]);
    expect(fetched).toEqual([]);
  });

  it("changes nothing for a minute still forming", async () => {
    const { client, invalidated, fetched } = seededClient();
    applyServerEvent(client, minute("AAPL", false));
    await settled();
    expect(invalidated()).toEqual([]);
    expect(fetched).toEqual([]);
  });

  it("marks the raw series' quality for a raw minute", () => {
    const { client, invalidated } = seededClient();
    applyServerEvent(client, minute("AAPL", true, false));
    expect(invalidated()).toEqual(["list", "aaplRaw"]);
  });

  it("reads a run again when its strategy_applied event arrives, with its strategy's runs and the list, and no other run", async () => {
    const { client, invalidated, fetched } = seededClient();
    const applied: StrategyApplied = {
      type: "strategy_applied", run_id: "r1", kind: "backtest", status: "complete", strategy_id: 7, strategy_name: "x", strategy_version: 1,
      symbol: "DEMO", timeframe: "1d", owner: "ann", metrics: { sharpe: 1 },
    };
    applyServerEvent(client, applied);
    expect(invalidated()).toEqual(["run", "runEquity", "runsOf", "strategies"]);
    await settled();
    expect(fetched.sort()).toEqual(["run", "runEquity", "runsOf", "strategies"]);
  });
});
