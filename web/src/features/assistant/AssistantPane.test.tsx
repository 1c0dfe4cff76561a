// @vitest-environment jsdom
// The assistant pane against a stubbed API and socket: no provider (help, no input), a turn streamed
// with a writing tool confirmed, the server's refusal in words, and a reference opened on the chart.
import { QueryClientProvider } from "@tanstack/react-query";
import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { MemoryRouter } from "react-router-dom";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import type { Dataset } from "../../api/types";
import { createQueryClient } from "../../queries/queryClient";
import { AssistantPane } from "./AssistantPane";
import type { ChartTarget } from "./references";
import type { AssistantStatus, ChatMessage, ChatResponseEvent, ChatSession } from "./types";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

class FakeSocket {
  static instances: FakeSocket[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((message: { data: unknown }) => void) | null = null;
  onclose: (() => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.instances.push(this);
  }
  close(): void {}
}

const SID = "a".repeat(32);
const RUN = "c".repeat(32);
const STATUS: AssistantStatus = {
  configured: true, provider: "openai", model: "gpt-test", help: "", tokens_used_today: 1200, daily_token_budget: 200_000,
  tools: [{ name: "run_backtest", description: "Backtest", writes: true }],
};
const SESSION: ChatSession = { session_id: SID, title: "AAPL momentum", created_at: "2024-01-01T00:00:00Z", updated_at: "2024-01-01T00:00:00Z", state: "complete", messages: 2 };
const DATASET: Dataset = {
  table: "aapl_1_day", symbol: "AAPL", timespan: "day", multiplier: 1, adjusted: true, source: "file", total_records: 100,
  date_range: { from: "2024-01-02", to: "2024-06-28" }, first_bar: null, last_bar: null,
  created_at: "2024-01-01T00:00:00Z", updated_at: "2024-01-01T00:00:00Z", last_accessed: null, quality: null,
};

interface Sent {
  method: string;
  url: string;
  body: unknown;
}

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
const settle = () => act(async () => new Promise((r) => setTimeout(r, 10)));

/** A fake API: `routes` answers `METHOD path` (first match by prefix); every request is recorded. */
function fakeServer(routes: Record<string, (sent: Sent) => Response>): Sent[] {
  const sent: Sent[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (url: string, init?: RequestInit) => {
      const request: Sent = { method: init?.method ?? "GET", url, body: typeof init?.body === "string" ? JSON.parse(init.body) : null };
      sent.push(request);
      const key = Object.keys(routes).find((k) => `${request.method} ${url}`.startsWith(k));
      return key !== undefined ? (routes[key] as (s: Sent) => Response)(request) : json({ title: "Not Found", status: 404 }, 404);
    }),
  );
  return sent;
}

let root: Root | null = null;
let host: HTMLDivElement | null = null;

beforeEach(() => {
  FakeSocket.instances = [];
  vi.stubGlobal("WebSocket", FakeSocket);
});

afterEach(async () => {
  await act(async () => root?.unmount());
  root = null;
  host?.remove();
  vi.unstubAllGlobals();
});

async function mount(onOpen: (t: ChartTarget) => void = () => undefined): Promise<HTMLDivElement> {
  host = document.createElement("div");
  document.body.append(host);
  root = createRoot(host);
  await act(async () =>
    root?.render(
      <QueryClientProvider client={createQueryClient()}>
        <MemoryRouter initialEntries={["/analysis?table=aapl_1_day&tf=1d"]}>
          <AssistantPane datasets={[DATASET]} symbol="AAPL" timeframe="1d" onOpen={onOpen} onApplyStrategy={() => undefined} />
        </MemoryRouter>
      </QueryClientProvider>,
    ),
  );
  await settle();
  return host;
}

const input = (el: HTMLElement) => el.querySelector<HTMLTextAreaElement>('textarea[aria-label="Message the assistant"]') as HTMLTextAreaElement;
const button = (el: HTMLElement, text: string) => [...el.querySelectorAll("button")].find((b) => b.textContent.trim() === text) as HTMLButtonElement;

async function typeAndEnter(el: HTMLElement, text: string): Promise<void> {
  const box = input(el);
  await act(async () => {
    Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, "value")?.set?.call(box, text);
    box.dispatchEvent(new Event("input", { bubbles: true }));
  });
  await act(async () => {
    box.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
  });
  await settle();
}

async function emit(event: Omit<ChatResponseEvent, "type" | "owner" | "session_id">): Promise<void> {
  const socket = FakeSocket.instances.at(-1);
  await act(async () => socket?.onmessage?.({ data: JSON.stringify({ type: "chat_response", owner: "ann", session_id: SID, ...event }) }));
}

describe("AssistantPane", () => {
  it("shows how to connect a provider and takes no message when none is configured", async () => {
    const help = "Set OPENAI_API_KEY or ANTHROPIC_API_KEY in the server's environment and restart it.";
    fakeServer({
      "GET /api/v1/chat/status": () => json({ ...STATUS, configured: false, provider: null, model: null, help }),
      "GET /api/v1/chat/history": () => json({ sessions: [] }),
    });
    const el = await mount();
    expect(el.querySelector("[data-testid=assistant-help]")?.textContent).toContain(help);
    expect(input(el).disabled).toBe(true);
    expect(button(el, "Send").disabled).toBe(true);
  });

  it("sends a message with the chart's symbol, streams the turn, and answers a writing tool", async () => {
    // What the server has stored (read again when the turn ends).
    let stored: ChatMessage[] = [];
    const sent = fakeServer({
      "GET /api/v1/chat/status": () => json(STATUS),
      "GET /api/v1/chat/history?session_id=": () => json({ sessions: [SESSION], messages: stored }),
      "GET /api/v1/chat/history": () => json({ sessions: [] }),
      "POST /api/v1/chat/message": () => json({ session_id: SID, message_id: 1, job_id: "job1" }, 202),
      "POST /api/v1/chat/confirm": () => json({ session_id: SID, message_id: 1, job_id: "job2" }, 202),
    });
    const el = await mount();
    await typeAndEnter(el, "Backtest RSI on AAPL");
    expect(sent.find((s) => s.method === "POST")).toEqual({ method: "POST", url: "/api/v1/chat/message", body: { message: "Backtest RSI on AAPL", symbol: "AAPL", timeframe: "1d" } });
    expect(input(el).disabled).toBe(true); // while the turn runs
    expect(button(el, "Stop")).toBeDefined();

    await emit({ step: "delta", text: "Running a **backtest**" });
    expect(el.querySelector("[data-testid=chat-streaming] strong")?.textContent).toBe("backtest");
    const asking = { id: "call_9", name: "run_backtest", arguments: { strategy_id: 3, symbol: "AAPL" }, state: "awaiting_confirmation" as const, writes: true };
    await emit({ step: "tool_call", tool_call: asking });
    stored = [
      { id: 1, session_id: SID, role: "user", content: "Backtest RSI on AAPL", created_at: "2024-01-01T00:00:00Z" },
      { id: 2, session_id: SID, role: "assistant", content: "Running a **backtest**", created_at: "2024-01-01T00:00:01Z", tool_calls: [asking] },
    ];
    await emit({ step: "done", state: "awaiting_confirmation" });
    await settle();

    const card = el.querySelector('[role=group][aria-label="Tool run_backtest"]') as HTMLElement;
    expect(card.textContent).toContain('"strategy_id": 3'); // its arguments, shown before it runs
    const always = card.querySelector<HTMLInputElement>("input[type=checkbox]") as HTMLInputElement;
    expect(always.parentElement?.textContent).toBe("Don't ask again this session");
    await act(async () => always.click());
    await act(async () => button(card, "Run").click());
    await settle();
    expect(sent.find((s) => s.url === "/api/v1/chat/confirm")?.body).toEqual({ session_id: SID, tool_call_id: "call_9", approve: true, always: true });
    expect(button(card, "Run")).toBeUndefined(); // answered

    await emit({ step: "tool_call", tool_call: { id: "call_9", name: "run_backtest", arguments: {}, state: "done", writes: true, summary: "backtest complete", result: { run_id: RUN } } });
    expect(el.querySelector('[aria-label="Tool run_backtest"]')?.getAttribute("data-state")).toBe("done");
  });

  it("shows why the server refused a message (no provider, budget spent) and keeps the text", async () => {
    fakeServer({
      "GET /api/v1/chat/status": () => json(STATUS),
      "GET /api/v1/chat/history": () => json({ sessions: [] }),
      "POST /api/v1/chat/message": () => json({ title: "Too Many Requests", status: 429, detail: "The daily token budget (200,000) is spent." }, 429),
    });
    const el = await mount();
    await typeAndEnter(el, "hello");
    expect(el.querySelector("[data-testid=chat-problem]")?.textContent).toContain("The daily token budget (200,000) is spent.");
    expect(input(el).value).toBe("hello");
    expect(input(el).disabled).toBe(false);
  });

  it("opens a session and goes to a reference on the chart", async () => {
    const answer: ChatMessage = {
      id: 2, session_id: SID, role: "assistant", content: "See the trades.", created_at: "2024-01-01T00:00:01Z",
      references: [{ kind: "trades", symbol: "AAPL", timeframe: "1d", run_id: RUN, label: "RSI trades" }],
    };
    fakeServer({
      "GET /api/v1/chat/status": () => json(STATUS),
      "GET /api/v1/chat/history?session_id=": () => json({ sessions: [SESSION], messages: [{ ...answer, id: 1, role: "user", content: "trades?", references: [] }, answer] }),
      "GET /api/v1/chat/history": () => json({ sessions: [SESSION] }),
    });
    const onOpen = vi.fn();
    const el = await mount(onOpen);
    await act(async () => el.querySelector<HTMLButtonElement>(".chat-session-open")?.click());
    await settle();
    expect(el.querySelector(".ref-text")?.textContent).toBe("RSI trades · AAPL 1d");
    await act(async () => button(el, "Open on chart").click());
    expect(onOpen).toHaveBeenCalledTimes(1);
    const target = onOpen.mock.calls[0]?.[0] as ChartTarget;
    expect(target.params.toString()).toBe(`table=aapl_1_day&tf=1d&run=${RUN}`);
    expect(target.run).toBe(true);
  });
});
