// @vitest-environment jsdom
// A run's progress (its job's status and events, Cancel) and its trades a page at a time, against mocked endpoints.
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { act, type ReactNode } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { cancelJob, getJob } from "../../api/endpoints/jobs";
import { getRun } from "../../api/endpoints/strategies";
import type { JobStatus, Me, StrategyRun, Trade } from "../../api/types";
import { applyServerEvent } from "../../queries/serverEvents";
import { AuthContext, authFromState } from "../auth/context";
import { RunProgress } from "./RunProgress";
import { TradesTable } from "./TradesTable";

vi.mock("../../api/endpoints/jobs", () => ({ getJob: vi.fn(), cancelJob: vi.fn() }));
vi.mock("../../api/endpoints/strategies", () => ({ getRun: vi.fn() }));

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const RUN_ID = "a".repeat(32);
const JOB_ID = "b".repeat(32);

const trade = (i: number): Trade => ({
  entry_time: "2024-01-02T15:00:00Z", exit_time: "2024-01-03T15:00:00Z", entry_price: 100 + i, exit_price: 101 + i, size: 1, pnl: 1,
  return_pct: 1, duration_bars: 1, exit_reason: "signal", entry_bar: i, exit_bar: i + 1,
});
const trades = (from: number, to: number): Trade[] => Array.from({ length: to - from }, (_, i) => trade(from + i));

const run = (over: Partial<StrategyRun>): StrategyRun => ({
  run_id: RUN_ID, kind: "backtest", status: "complete", strategy_id: 1, strategy_name: "x", strategy_version: 1, owner: "ann",
  request: {}, created_at: "2024-01-01T00:00:00Z", job_id: JOB_ID, trades_total: 0, ...over,
});

const job = (state: JobStatus["state"], done: number, total: number): JobStatus => ({
  job_id: JOB_ID, kind: "strategy_run", owner: "ann", state, created_at: "", updated_at: "", symbols: [{ symbol: RUN_ID, windows_done: done, windows_total: total, windows_failed: 0, bars: 0 }],
});

let root: Root | null = null;
let host: HTMLDivElement | null = null;
let client: QueryClient;

beforeEach(() => {
  client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  vi.mocked(getJob).mockReset();
  vi.mocked(cancelJob).mockReset();
  vi.mocked(getRun).mockReset();
});

afterEach(async () => {
  await act(async () => root?.unmount());
  root = null;
  host?.remove();
  client.clear();
});

async function render(node: ReactNode, user: Pick<Me, "username" | "role"> | null = null): Promise<HTMLDivElement> {
  host = document.createElement("div");
  document.body.append(host);
  root = createRoot(host);
  const auth = authFromState(user !== null ? { status: "signed-in", user: { ...user, auth: "session" } } : { status: "anonymous" });
  await act(async () => {
    root?.render(
      <QueryClientProvider client={client}>
        <AuthContext.Provider value={auth}>{node}</AuthContext.Provider>
      </QueryClientProvider>,
    );
  });
  return host;
}

const text = (el: Element, testId: string): string | null => el.querySelector(`[data-testid=${testId}]`)?.textContent ?? null;
const click = (el: Element, testId: string): Promise<void> =>
  act(async () => {
    (el.querySelector(`[data-testid=${testId}]`) as HTMLButtonElement).click();
  });

describe("RunProgress", () => {
  it("shows a sweep's combinations done from its job, moves with the job's events, and cancels the job", async () => {
    vi.mocked(getJob).mockResolvedValue(job("running", 37, 100));
    vi.mocked(cancelJob).mockResolvedValue(job("cancelled", 40, 100));
    const el = await render(<RunProgress run={run({ kind: "sweep", status: "running" })} live />, { username: "ann", role: "analyst" });
    expect(getJob).toHaveBeenCalledWith(JOB_ID, expect.anything());
    expect(text(el, "run-progress-text")).toBe("37 of 100 combinations");
    expect(el.querySelector("[role=progressbar]")?.getAttribute("aria-valuenow")).toBe("37");

    await act(async () => applyServerEvent(client, { type: "fetch_progress", job_id: JOB_ID, owner: "ann", state: "running", symbols: job("running", 52, 100).symbols }));
    expect(text(el, "run-progress-text")).toBe("52 of 100 combinations");

    await click(el, "run-cancel");
    expect(cancelJob).toHaveBeenCalledWith(JOB_ID);
    expect(text(el, "run-cancel")).toBe("Cancelling…");
    expect((el.querySelector("[data-testid=run-cancel]") as HTMLButtonElement).disabled).toBe(true);
  });

  it("counts a walk-forward's folds, and offers no Cancel to someone else", async () => {
    vi.mocked(getJob).mockResolvedValue(job("running", 2, 5));
    const el = await render(<RunProgress run={run({ kind: "walk_forward", status: "running" })} live={false} />, { username: "bob", role: "analyst" });
    expect(text(el, "run-progress-text")).toBe("2 of 5 folds");
    expect(el.querySelector("[data-testid=run-cancel]")).toBeNull();
  });

  it("waits for a worker without asking a backtest's job for steps", async () => {
    const el = await render(<RunProgress run={run({ status: "queued" })} live={false} />, { username: "ann", role: "analyst" });
    expect(el.textContent).toContain("Waiting for a worker…");
    expect(getJob).not.toHaveBeenCalled();
    expect(el.querySelector("[data-testid=run-cancel]")).not.toBeNull();
  });
});

describe("TradesTable", () => {
  it("pages through every trade: the first page from the run, the others asked for and kept", async () => {
    vi.mocked(getRun).mockImplementation((_id, _signal, window) =>
      Promise.resolve(run({ trades_total: 1234, trades: trades(window?.offset ?? 0, Math.min(1234, (window?.offset ?? 0) + (window?.limit ?? 1000))) })),
    );
    const el = await render(<TradesTable run={run({ trades_total: 1234, trades: trades(0, 500) })} bucket={86_400_000} />);
    const rows = (): NodeListOf<Element> => el.querySelectorAll("[data-testid=trade-row]");
    expect(rows()).toHaveLength(500);
    expect(text(el, "trades-range")).toBe("1–500 of 1,234");
    expect(getRun).not.toHaveBeenCalled();
    expect((el.querySelector("[data-testid=trades-previous]") as HTMLButtonElement).disabled).toBe(true);

    await click(el, "trades-next");
    expect(getRun).toHaveBeenLastCalledWith(RUN_ID, expect.anything(), { offset: 500, limit: 500 });
    expect(text(el, "trades-range")).toBe("501–1,000 of 1,234");
    expect(rows()[0]?.firstElementChild?.textContent).toBe("501");

    await click(el, "trades-next");
    expect(getRun).toHaveBeenLastCalledWith(RUN_ID, expect.anything(), { offset: 1000, limit: 500 });
    expect(text(el, "trades-range")).toBe("1,001–1,234 of 1,234");
    expect(rows()).toHaveLength(234);
    expect((el.querySelector("[data-testid=trades-next]") as HTMLButtonElement).disabled).toBe(true);

    await click(el, "trades-previous");
    await click(el, "trades-previous");
    expect(getRun).toHaveBeenCalledTimes(2);
    expect(text(el, "trades-range")).toBe("1–500 of 1,234");
    expect(rows()[0]?.firstElementChild?.textContent).toBe("1");
  });

  it("has no pager when one page holds them all", async () => {
    const el = await render(<TradesTable run={run({ trades_total: 3, trades: trades(0, 3) })} bucket={86_400_000} />);
    expect(el.querySelectorAll("[data-testid=trade-row]")).toHaveLength(3);
    expect(el.querySelector("[data-testid=trades-pager]")).toBeNull();
  });
});
