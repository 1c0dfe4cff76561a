// @vitest-environment jsdom
// The fetch page following a job over the WebSocket, and cancelling it, against a stubbed API and socket.
import { QueryClientProvider } from "@tanstack/react-query";
import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { MemoryRouter } from "react-router-dom";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { createQueryClient } from "../queries/queryClient";
import StockFetcher from "./StockFetcher";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

class FakeSocket {
  static instances: FakeSocket[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((message: { data: unknown }) => void) | null = null;
  onclose: (() => void) | null = null;
  closed = false;
  constructor(readonly url: string) {
    FakeSocket.instances.push(this);
  }
  close(): void {
    this.closed = true;
  }
}

const socket = (): FakeSocket => {
  const last = FakeSocket.instances[FakeSocket.instances.length - 1];
  if (last === undefined) throw new Error("no socket opened");
  return last;
};

let root: Root | null = null;

beforeEach(() => {
  FakeSocket.instances = [];
  vi.stubGlobal("WebSocket", FakeSocket);
});

afterEach(async () => {
  await act(async () => root?.unmount());
  root = null;
  vi.unstubAllGlobals();
});

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
const wait = (ms: number) => act(async () => new Promise((r) => setTimeout(r, ms)));
const symbols = (done: number, error: string | null = null) => [
  { symbol: "AAPL", windows_done: done, windows_total: 4, bars: done * 1000, error: null, table: null },
  { symbol: "MSFT", windows_done: 0, windows_total: 4, bars: 0, error, table: null },
];
const status = (state: string, done: number) => ({
  job_id: "j1", kind: "fetch", owner: "ana", state, created_at: "", updated_at: "", error: null, message: null, symbols: symbols(done),
});
const send = (body: unknown) => act(async () => socket().onmessage?.({ data: JSON.stringify(body) }));

async function startJob(api: (url: string, init?: RequestInit) => Response): Promise<HTMLElement> {
  vi.stubGlobal("fetch", vi.fn(async (url: string, init?: RequestInit) => {
    if (url === "/api/v1/stocks/fetch") return json({ job_id: "j1", status_url: "/api/v1/jobs/j1" }, 202);
    return api(url, init);
  }));
  const el = document.createElement("div");
  document.body.append(el);
  root = createRoot(el);
  await act(async () => root?.render(<QueryClientProvider client={createQueryClient()}><MemoryRouter initialEntries={["/fetch"]}><StockFetcher /></MemoryRouter></QueryClientProvider>));
  await act(async () => {
    el.querySelector("form")?.dispatchEvent(new Event("submit", { bubbles: true, cancelable: true }));
  });
  await wait(20);
  return el;
}

const bars = (el: HTMLElement) => [...el.querySelectorAll('[role="progressbar"]')].map((b) => b.getAttribute("aria-valuenow"));

describe("StockFetcher with live events", () => {
  it("shows each symbol's progress and errors in words as events arrive, polling less meanwhile", async () => {
    let polls = 0;
    const el = await startJob(() => {
      polls += 1;
      return json(status("running", 0));
    });
    expect(socket().url).toMatch(/^ws:\/\/.+\/api\/v1\/ws$/);
    await act(async () => socket().onopen?.());
    expect(el.querySelector('[data-testid="job-live"]')?.getAttribute("data-live")).toBe("true");

    await send({ type: "fetch_progress", job_id: "j1", owner: "ana", state: "running", symbols: symbols(1, "Polygon answered 403: NOT_AUTHORIZED") });
    expect(bars(el)).toEqual(["0.25", "0"]);
    const error = el.querySelector('[data-testid="symbol-error"]');
    expect(error?.textContent).toContain("plan does not include");
    expect(error?.textContent).toContain("NOT_AUTHORIZED");

    await send({ type: "fetch_progress", job_id: "other", owner: "ana", state: "complete", symbols: symbols(4) });
    expect(el.querySelector('[data-testid="job"]')?.getAttribute("data-state")).toBe("running");

    await wait(1200);
    expect(polls).toBeLessThanOrEqual(2); // at once, once more when the socket opened, then every 5 s
    expect(bars(el)).toEqual(["0.25", "0"]); // a stale poll does not undo the event

    await send({ type: "fetch_progress", job_id: "j1", owner: "ana", state: "complete", symbols: symbols(4) });
    expect(el.querySelector('[data-testid="job"]')?.getAttribute("data-state")).toBe("complete");
    expect(socket().closed).toBe(true);
  });

  it("reads the stored status when the socket opens, for an event published before it listened", async () => {
    let started = false;
    const el = await startJob(() => json(status(started ? "running" : "queued", 0)));
    expect(el.querySelector('[data-testid="job"]')?.getAttribute("data-state")).toBe("queued");
    started = true; // the worker starts the job, and publishes that, before the socket is listening
    await act(async () => socket().onopen?.());
    await wait(20);
    expect(el.querySelector('[data-testid="job"]')?.getAttribute("data-state")).toBe("running");
  });

  it("cancels the job and shows it stopping", async () => {
    const calls: string[] = [];
    let cancelled = false;
    const el = await startJob((url, init) => {
      calls.push(`${init?.method ?? "GET"} ${url}`);
      if (url === "/api/v1/jobs/j1/cancel") {
        cancelled = true;
        return json(status("running", 1), 202);
      }
      return json(status(cancelled ? "cancelled" : "running", 1));
    });
    const button = el.querySelector<HTMLButtonElement>('[data-testid="job-cancel"]');
    expect(button?.textContent).toBe("Cancel fetch");
    await act(async () => button?.click());
    await wait(10);
    expect(calls).toContain("POST /api/v1/jobs/j1/cancel");
    expect(el.querySelector('[data-testid="job-cancel"]')?.textContent).toBe("Cancelling…");
    await send({ type: "fetch_progress", job_id: "j1", owner: "ana", state: "cancelled", symbols: symbols(1) });
    expect(el.querySelector('[data-testid="job"]')?.getAttribute("data-state")).toBe("cancelled");
    expect(el.querySelector('[data-testid="job-cancel"]')).toBeNull();
    expect(el.querySelector('[data-symbol="AAPL"]')?.textContent).toContain("cancelled before it finished");
  });

  it("reads the stored status as soon as an event says the job ended, for its error in words", async () => {
    let failed = false;
    const el = await startJob(() =>
      json(failed ? { ...status("failed", 0), error: "AAPL 2024-01-02..2024-01-31: polygon answered HTTP 401: Unknown API Key" } : status("running", 0)),
    );
    await act(async () => socket().onopen?.());
    await wait(600); // the socket is open: the next poll is 5 s away
    failed = true;
    await send({ type: "fetch_progress", job_id: "j1", owner: "ana", state: "failed", symbols: symbols(0) });
    await wait(20);
    expect(el.querySelector('[data-testid="job"]')?.getAttribute("data-state")).toBe("failed");
    const error = el.querySelector('[data-testid="job-error"]');
    expect(error?.textContent).toContain("Polygon refused the API key");
    expect(error?.textContent).toContain("Unknown API Key");
  });

  it("after a cancel, follows the job until its worker has recorded what it kept", async () => {
    let polls = 0;
    let cancelled = false;
    const el = await startJob((url) => {
      if (url === "/api/v1/jobs/j1/cancel") {
        cancelled = true;
        return json({ ...status("cancelled", 1), message: "cancelled" }, 202);
      }
      if (!cancelled) return json(status("running", 1));
      polls += 1;
      // Stored as cancelled at once; the worker records its outcome once it has stopped (the third poll).
      if (polls < 3) return json({ ...status("cancelled", 1), message: "cancelled" });
      const kept = symbols(1).map((s) => (s.symbol === "AAPL" ? { ...s, table: "aapl_1day_2024-01-02_2024-03-28" } : s));
      return json({ ...status("cancelled", 1), message: "cancelled; stored 1,000 bars for 1 of 2 symbols (kept)", symbols: kept });
    });
    await act(async () => socket().onopen?.());
    await act(async () => el.querySelector<HTMLButtonElement>('[data-testid="job-cancel"]')?.click());
    expect(el.querySelector('[data-testid="job"]')?.getAttribute("data-state")).toBe("cancelled");
    await wait(1300);
    expect(el.textContent).toContain("cancelled; stored 1,000 bars for 1 of 2 symbols (kept)");
    expect(el.querySelector('[data-symbol="AAPL"] [data-testid="job-dataset-link"]')?.textContent).toContain("aapl_1day_2024-01-02_2024-03-28");
    await wait(1100);
    expect(polls).toBe(3); // and no more once it was recorded
  });

  it("treats a cancel of a finished job as no error", async () => {
    let finished = false;
    const el = await startJob((url) => {
      if (url === "/api/v1/jobs/j1/cancel") {
        finished = true;
        return json({ title: "Conflict", status: 409, detail: "job j1 has already finished" }, 409);
      }
      return json(status(finished ? "complete" : "running", finished ? 4 : 1));
    });
    await act(async () => el.querySelector<HTMLButtonElement>('[data-testid="job-cancel"]')?.click());
    await wait(700);
    expect(el.querySelector('[data-testid="cancel-problem"]')).toBeNull();
    expect(el.querySelector('[data-testid="job"]')?.getAttribute("data-state")).toBe("complete");
  });
});
