// @vitest-environment jsdom
// The fetch page end to end against a stubbed API: problem details shown, then a job followed to completion.
import { QueryClientProvider } from "@tanstack/react-query";
import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { MemoryRouter } from "react-router-dom";
import { afterEach, describe, expect, it, vi } from "vitest";

import { createQueryClient } from "../queries/queryClient";
import StockFetcher from "./StockFetcher";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

let root: Root | null = null;

afterEach(async () => {
  await act(async () => root?.unmount());
  root = null;
  vi.unstubAllGlobals();
});

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
const wait = (ms: number) => act(async () => new Promise((r) => setTimeout(r, ms)));

async function mount(): Promise<HTMLElement> {
  const el = document.createElement("div");
  document.body.append(el);
  root = createRoot(el);
  await act(async () => root?.render(<QueryClientProvider client={createQueryClient()}><MemoryRouter initialEntries={["/fetch"]}><StockFetcher /></MemoryRouter></QueryClientProvider>));
  return el;
}

function submit(el: HTMLElement): Promise<void> {
  const form = el.querySelector("form");
  return act(async () => {
    form?.dispatchEvent(new Event("submit", { bubbles: true, cancelable: true }));
  });
}

describe("StockFetcher", () => {
  it("shows the API's problem details next to the form", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => json({ title: "Invalid fetch request", status: 400, detail: "bad range", extra: [{ key: "to", message: "before from" }] }, 400)));
    const el = await mount();
    await submit(el);
    await wait(10);
    const problem = el.querySelector('[data-testid="fetch-problem"]');
    expect(problem?.textContent).toContain("Invalid fetch request");
    expect(problem?.textContent).toContain("bad range");
    expect(problem?.textContent).toContain("to: before from");
  });

  it("follows the job until it completes and links the new dataset", async () => {
    let polls = 0;
    const progress = (done: number, state: string, table: string | null) => ({
      job_id: "j1", kind: "fetch", state, created_at: "", updated_at: "", error: null, message: null,
      symbols: [{ symbol: "AAPL", windows_done: done, windows_total: 2, bars: done * 100, error: null, table }],
    });
    vi.stubGlobal("fetch", vi.fn(async (url: string) => {
      if (url === "/api/v1/stocks/fetch") return json({ job_id: "j1", status_url: "/api/v1/jobs/j1" }, 202);
      polls += 1;
      return json(polls === 1 ? progress(1, "running", null) : progress(2, "complete", "aapl_1_day"));
    }));
    const el = await mount();
    await submit(el);
    await wait(50);
    expect(el.querySelector('[data-testid="job"]')?.getAttribute("data-state")).toBe("running");
    expect(el.querySelector('[role="progressbar"]')?.getAttribute("aria-valuenow")).toBe("0.5");
    await wait(600);
    expect(el.querySelector('[data-testid="job"]')?.getAttribute("data-state")).toBe("complete");
    expect(el.querySelector('[data-testid="job-dataset-link"]')?.getAttribute("href")).toBe("/analysis?table=aapl_1_day");
    await wait(600);
    expect(polls).toBe(2); // no polling after a terminal state
  });
});
