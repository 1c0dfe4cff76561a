// The conversation reducer: a turn's deltas, tool calls, stored message and end; a new session's early events; the history.
import { describe, expect, it } from "vitest";

import { INITIAL_STREAM, parseAssistantEvent, pendingConfirmations, type StreamAction, streamReducer, type StreamState } from "./stream";
import type { ChatMessage, ChatResponseEvent, ToolCall } from "./types";

const SID = "a".repeat(32);
const OTHER = "b".repeat(32);

const event = (over: Partial<ChatResponseEvent> & Pick<ChatResponseEvent, "step">, session = SID): StreamAction => ({
  type: "event",
  event: { type: "chat_response", session_id: session, owner: "ann", ...over },
});
const call = (id: string, state: ToolCall["state"], over: Partial<ToolCall> = {}): ToolCall => ({ id, name: "get_bars", arguments: { symbol: "AAPL" }, state, writes: false, ...over });
const message = (id: number, role: ChatMessage["role"], content: string, over: Partial<ChatMessage> = {}): ChatMessage => ({
  id,
  session_id: SID,
  role,
  content,
  created_at: "2024-01-01T00:00:00Z",
  ...over,
});
const run = (state: StreamState, ...actions: StreamAction[]): StreamState => actions.reduce(streamReducer, state);
const opened = run(INITIAL_STREAM, { type: "open", sessionId: SID }, { type: "history", sessionId: SID, messages: [message(1, "user", "hi"), message(2, "assistant", "hello")] });

describe("streamReducer", () => {
  it("streams deltas, upserts tool cards, replaces the text with the stored message, and ends the turn", () => {
    let s = run(opened, { type: "send", text: "RSI of AAPL?", now: "t" }, { type: "accepted", accepted: { session_id: SID, message_id: 3, job_id: "j1" } });
    expect(s.running).toBe(true);
    expect(s.jobId).toBe("j1");
    expect(s.messages.map((m) => [m.id, m.role, m.content])).toEqual([
      [1, "user", "hi"],
      [2, "assistant", "hello"],
      [3, "user", "RSI of AAPL?"],
    ]);

    s = run(s, event({ step: "delta", text: "Let me " }), event({ step: "delta", text: "look." }));
    expect(s.rounds).toEqual([{ text: "Let me look.", tools: [] }]);

    s = run(s, event({ step: "tool_call", tool_call: call("c1", "approved") }), event({ step: "tool_call", tool_call: call("c2", "failed") }));
    s = run(s, event({ step: "tool_call", tool_call: call("c1", "done", { summary: "read 250 bars" }) }));
    expect(s.rounds.map((r) => [r.text, r.tools.map((t) => [t.id, t.state, t.summary ?? null])])).toEqual([
      ["Let me look.", [["c1", "done", "read 250 bars"], ["c2", "failed", null]]],
    ]);

    // Text after the tools is the next round (the answer).
    s = run(s, event({ step: "delta", text: "The RSI " }), event({ step: "delta", text: "is" }));
    expect(s.rounds.map((r) => r.text)).toEqual(["Let me look.", "The RSI is"]);

    // A delta was dropped (" 41.2." lost): the stored message is the truth; the round before it stays, in order.
    const stored = message(5, "assistant", "The RSI is 41.2.", { citations: [{ start: 11, end: 15, text: "41.2", tool_call_id: "c1" }] });
    s = run(s, event({ step: "message", message: stored }));
    expect(s.rounds).toEqual([]);
    expect(s.messages.slice(-2).map((m) => [m.role, m.content, (m.tool_calls ?? []).map((t) => t.id)])).toEqual([
      ["assistant", "Let me look.", ["c1", "c2"]],
      ["assistant", "The RSI is 41.2.", []],
    ]);
    expect(s.messages.at(-1)).toEqual(stored);
    expect(s.running).toBe(true);

    s = run(s, event({ step: "done", state: "complete" }));
    expect(s.running).toBe(false);
    expect(s.state).toBe("complete");
    expect(s.jobId).toBeNull();
  });

  it("ends a turn in error with its words, and ignores events of other sessions", () => {
    let s = run(opened, { type: "send", text: "x", now: "t" });
    s = run(s, event({ step: "delta", text: "elsewhere" }, OTHER));
    expect(s.rounds).toEqual([]);
    s = run(s, event({ step: "error", error: "provider timed out" }));
    expect(s).toMatchObject({ running: false, state: "failed", error: "provider timed out" });
  });

  it("updates a stored message's tool card in place (a confirmation answered), and knows what awaits the user", () => {
    const asking = message(5, "assistant", "", { tool_calls: [call("w1", "awaiting_confirmation", { name: "run_backtest", writes: true })] });
    let s = run(opened, { type: "history", sessionId: SID, messages: [...opened.messages, asking] });
    expect(pendingConfirmations(s).map((t) => t.id)).toEqual(["w1"]);
    s = run(s, { type: "resumed", toolCallId: "w1", accepted: { session_id: SID, message_id: 5, job_id: "j2" } });
    expect(pendingConfirmations(s)).toEqual([]);
    expect(s).toMatchObject({ running: true, jobId: "j2" });
    s = run(s, event({ step: "tool_call", tool_call: call("w1", "done", { name: "run_backtest", writes: true }) }));
    expect(s.rounds).toEqual([]);
    expect(s.messages.at(-1)?.tool_calls?.[0]?.state).toBe("done");
    expect(s.answered).toEqual([]);
  });

  it("keeps a new session's early events until the answer names it", () => {
    let s = run(INITIAL_STREAM, { type: "send", text: "hi", now: "t" });
    expect(s.pendingNew).toBe(true);
    s = run(s, event({ step: "delta", text: "Hel" }), event({ step: "delta", text: "lo" }), event({ step: "delta", text: "!" }, OTHER));
    expect(s.rounds).toEqual([]);
    s = run(s, { type: "accepted", accepted: { session_id: SID, message_id: 1, job_id: "j" } });
    expect(s.sessionId).toBe(SID);
    expect(s.rounds).toEqual([{ text: "Hello", tools: [] }]);
    expect(s.buffered).toEqual([]);
    expect(s.messages.map((m) => [m.id, m.session_id])).toEqual([[1, SID]]);
  });

  it("does not start a turn again when the answer comes after the turn has ended", () => {
    let s = run(opened, { type: "send", text: "x", now: "t" }, event({ step: "done", state: "complete" }));
    s = run(s, { type: "accepted", accepted: { session_id: SID, message_id: 3, job_id: "j" } });
    expect(s.running).toBe(false);
    expect(s.jobId).toBeNull();
  });

  it("drops the message being sent when the server refuses it", () => {
    const s = run(opened, { type: "send", text: "x", now: "t" }, { type: "rejected", error: null });
    expect(s.messages.map((m) => m.id)).toEqual([1, 2]);
    expect(s.running).toBe(false);
  });

  it("takes the history as the truth once the turn is over, and keeps what streams while it runs", () => {
    let s = run(opened, { type: "send", text: "x", now: "t" }, { type: "accepted", accepted: { session_id: SID, message_id: 3, job_id: "j" } }, event({ step: "delta", text: "partial" }));
    s = run(s, { type: "history", sessionId: SID, messages: [...opened.messages, message(3, "user", "x")] });
    expect(s.rounds).toEqual([{ text: "partial", tools: [] }]);
    s = run(s, event({ step: "done" }), { type: "history", sessionId: SID, messages: [...opened.messages, message(3, "user", "x"), message(4, "assistant", "full")] });
    expect(s.rounds).toEqual([]);
    expect(s.messages.map((m) => m.content)).toEqual(["hi", "hello", "x", "full"]);
  });
});

describe("parseAssistantEvent", () => {
  it("reads chat and agent events and nothing else", () => {
    expect(parseAssistantEvent(JSON.stringify({ type: "chat_response", session_id: SID, owner: "a", step: "delta", text: "x" }))).toMatchObject({ step: "delta" });
    expect(parseAssistantEvent(JSON.stringify({ type: "chat_response", session_id: SID, owner: "a", step: "bogus" }))).toBeNull();
    expect(parseAssistantEvent(JSON.stringify({ type: "agent_status", owner: "a", task: { task_id: "t" } }))).toMatchObject({ type: "agent_status" });
    expect(parseAssistantEvent(JSON.stringify({ type: "stock_update" }))).toBeNull();
    expect(parseAssistantEvent("not json")).toBeNull();
  });
});
