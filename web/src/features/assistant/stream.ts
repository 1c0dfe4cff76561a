/**
 * The conversation shown in the pane, as a reducer (pure): the open session's stored messages, the
 * assistant message being written (`delta` events), the turn's tool calls, and whether a turn runs.
 *
 * A turn streams as `chat_response` events: `delta` appends text; `tool_call` puts a tool card in
 * place (by its id: a stored message's card, or one of the turn's); `message` replaces what was
 * streamed of it with the stored message (deltas may have been dropped by a slow socket: the message
 * is the truth); `done` / `error` end the turn (the pane then reads the history again, which replaces
 * it all).
 *
 * What streams comes in rounds — the model's text, then the tools it calls — and the server stores
 * each round as a message but sends a `message` event only for the last (the answer, or the round
 * that waits for the user). So a `message` takes the place of the last round streamed; the rounds
 * before it stay on screen as they were (as messages not stored here, with negative ids) until the
 * history is read again.
 *
 * A message sent without a session starts one: its events may come before the answer naming it, so
 * events of sessions not known yet wait (`buffered`) until then.
 */
import { messageObject } from "../../api/socket";
import type { AgentStatusEvent, ChatAccepted, ChatMessage, ChatResponseEvent, ToolCall, TurnState } from "./types";

/** One round of the running turn: the text the model wrote, then the tools it called. */
export interface Round {
  text: string;
  tools: ToolCall[];
}

export interface StreamState {
  /** The session shown; `null`: a new conversation (none yet). */
  sessionId: string | null;
  /** Its stored messages, oldest first; a message being sent has a negative id until accepted. */
  messages: ChatMessage[];
  /** What the running turn streamed that is in no message here yet, in order. */
  rounds: Round[];
  running: boolean;
  /** The running turn's job (Stop cancels it); `null` when not known. */
  jobId: string | null;
  /** How the last turn ended (or `running`); `null` before any. */
  state: TurnState | null;
  error: string | null;
  /** The history is being read. */
  loading: boolean;
  /** Tool calls the user has answered (Run / Don't run), until their event says how they went. */
  answered: string[];
  /** A message was sent without a session: events of unknown sessions wait for its id. */
  pendingNew: boolean;
  buffered: ChatResponseEvent[];
}

export type StreamAction =
  /** Show a session (`null`: a new conversation); `running`: its last turn is still going. */
  | { type: "open"; sessionId: string | null; running?: boolean }
  | { type: "history"; sessionId: string; messages: ChatMessage[] }
  | { type: "historyFailed"; sessionId: string; error: string }
  | { type: "send"; text: string; now: string }
  | { type: "accepted"; accepted: ChatAccepted }
  | { type: "rejected"; error: string | null }
  /** A tool call was answered (confirm accepted): the turn goes on. */
  | { type: "resumed"; toolCallId: string; accepted: ChatAccepted }
  | { type: "stopped" }
  | { type: "event"; event: ChatResponseEvent };

/** Events kept at most while a new session's id is awaited. */
export const MAX_BUFFERED = 2000;

export const INITIAL_STREAM: StreamState = {
  sessionId: null,
  messages: [],
  rounds: [],
  running: false,
  jobId: null,
  state: null,
  error: null,
  loading: false,
  answered: [],
  pendingNew: false,
  buffered: [],
};

function upsertTool(list: readonly ToolCall[], call: ToolCall): ToolCall[] {
  const at = list.findIndex((t) => t.id === call.id);
  if (at < 0) return [...list, call];
  const next = list.slice();
  next[at] = call;
  return next;
}

/** The messages with `call` put in place of the stored tool call of the same id; `null` when none has it. */
function withStoredTool(messages: readonly ChatMessage[], call: ToolCall): ChatMessage[] | null {
  const at = messages.findIndex((m) => m.tool_calls?.some((t) => t.id === call.id) === true);
  if (at < 0) return null;
  const next = messages.slice();
  const message = messages[at] as ChatMessage;
  next[at] = { ...message, tool_calls: upsertTool(message.tool_calls ?? [], call) };
  return next;
}

function upsertMessage(messages: readonly ChatMessage[], message: ChatMessage): ChatMessage[] {
  // The stored user message replaces the one shown while it was being sent.
  const kept = message.role === "user" ? messages.filter((m) => m.id >= 0 || m.role !== "user") : messages;
  const at = kept.findIndex((m) => m.id === message.id);
  if (at < 0) return [...kept, message];
  const next = kept.slice();
  next[at] = message;
  return next;
}

function storedToolIds(messages: readonly ChatMessage[]): Set<string> {
  return new Set(messages.flatMap((m) => (m.tool_calls ?? []).map((t) => t.id)));
}

/** The rounds without the tool calls in `stored`, and without rounds left empty. */
function withoutStored(rounds: readonly Round[], stored: ReadonlySet<string>): Round[] {
  return rounds.map((r) => ({ text: r.text, tools: r.tools.filter((t) => !stored.has(t.id)) })).filter((r) => r.text !== "" || r.tools.length > 0);
}

/** Rounds streamed before the one a `message` stands for, as messages not stored here (negative ids). */
function earlierRounds(rounds: readonly Round[], state: StreamState, at: string): ChatMessage[] {
  const base = -1000 - state.messages.length;
  return rounds.map((r, i) => ({ id: base - i, session_id: state.sessionId ?? "", role: "assistant", content: r.text, created_at: at, tool_calls: r.tools }));
}

function applyEvent(state: StreamState, event: ChatResponseEvent): StreamState {
  switch (event.step) {
    case "delta": {
      const text = event.text ?? "";
      const last = state.rounds.at(-1);
      // Text after tool calls starts the next round.
      const rounds = last !== undefined && last.tools.length === 0 ? [...state.rounds.slice(0, -1), { text: last.text + text, tools: [] }] : [...state.rounds, { text, tools: [] }];
      return { ...state, rounds, running: true, state: "running" };
    }
    case "tool_call": {
      const call = event.tool_call;
      if (call === null || call === undefined) return state;
      const answered = state.answered.includes(call.id) && call.state !== "awaiting_confirmation" ? state.answered.filter((id) => id !== call.id) : state.answered;
      const stored = withStoredTool(state.messages, call);
      if (stored !== null) return { ...state, messages: stored, answered };
      const at = state.rounds.findIndex((r) => r.tools.some((t) => t.id === call.id));
      const index = at >= 0 ? at : state.rounds.length - 1;
      const round = state.rounds[index];
      const rounds = round === undefined ? [{ text: "", tools: [call] }] : state.rounds.map((r, i) => (i === index ? { text: r.text, tools: upsertTool(r.tools, call) } : r));
      return { ...state, rounds, answered };
    }
    case "message": {
      const message = event.message;
      if (message === null || message === undefined) return state;
      if (message.role !== "assistant") return { ...state, messages: upsertMessage(state.messages, message) };
      // The message is the last round streamed; the rounds before it were stored without an event.
      const before = earlierRounds(withoutStored(state.rounds.slice(0, -1), storedToolIds([message])), state, message.created_at);
      const messages = upsertMessage([...state.messages, ...before], message);
      return { ...state, messages, rounds: [] };
    }
    case "done":
      return { ...state, running: false, jobId: null, state: event.state ?? "complete" };
    case "error":
      return { ...state, running: false, jobId: null, state: event.state ?? "failed", error: event.error ?? "The assistant could not answer." };
    default:
      return state;
  }
}

export function streamReducer(state: StreamState, action: StreamAction): StreamState {
  switch (action.type) {
    case "open":
      return { ...INITIAL_STREAM, sessionId: action.sessionId, loading: action.sessionId !== null, running: action.running === true };
    case "history": {
      if (action.sessionId !== state.sessionId) return state;
      // While a turn runs, what it has streamed and not stored yet stays on screen.
      if (state.running) {
        const sending = state.messages.filter((m) => m.id < 0 && m.role === "user");
        return { ...state, loading: false, messages: [...action.messages, ...sending], rounds: withoutStored(state.rounds, storedToolIds(action.messages)) };
      }
      return { ...state, loading: false, messages: action.messages, rounds: [] };
    }
    case "historyFailed":
      return action.sessionId === state.sessionId ? { ...state, loading: false, error: action.error } : state;
    case "send": {
      const mine: ChatMessage = { id: -(state.messages.length + 1), session_id: state.sessionId ?? "", role: "user", content: action.text, created_at: action.now };
      return {
        ...state,
        messages: [...state.messages, mine],
        rounds: [],
        running: true,
        jobId: null,
        state: "running",
        error: null,
        pendingNew: state.sessionId === null,
        buffered: [],
      };
    }
    case "accepted": {
      const { accepted } = action;
      const messages = state.messages.map((m) => (m.id < 0 && m.role === "user" ? { ...m, id: accepted.message_id, session_id: accepted.session_id } : m));
      let next: StreamState = { ...state, messages, jobId: state.running ? accepted.job_id : null };
      if (state.pendingNew) {
        next = { ...next, sessionId: accepted.session_id, pendingNew: false, buffered: [] };
        for (const event of state.buffered) if (event.session_id === accepted.session_id) next = applyEvent(next, event);
      }
      return next;
    }
    case "rejected":
      return { ...state, messages: state.messages.filter((m) => m.id >= 0), running: false, jobId: null, state: null, error: action.error, pendingNew: false, buffered: [] };
    case "resumed":
      return {
        ...state,
        running: true,
        jobId: action.accepted.job_id,
        state: "running",
        error: null,
        answered: state.answered.includes(action.toolCallId) ? state.answered : [...state.answered, action.toolCallId],
      };
    case "stopped":
      return { ...state, running: false, jobId: null, state: "cancelled" };
    case "event": {
      const { event } = action;
      if (event.session_id !== state.sessionId) {
        if (!state.pendingNew || state.buffered.length >= MAX_BUFFERED) return state;
        return { ...state, buffered: [...state.buffered, event] };
      }
      return applyEvent(state, event);
    }
    default:
      return state;
  }
}

/** Tool calls awaiting the user's answer (in stored messages or the running turn), not answered yet. */
export function pendingConfirmations(state: StreamState): ToolCall[] {
  const all = [...state.messages.flatMap((m) => m.tool_calls ?? []), ...state.rounds.flatMap((r) => r.tools)];
  return all.filter((t) => t.state === "awaiting_confirmation" && !state.answered.includes(t.id));
}

const STEPS: ReadonlySet<string> = new Set(["delta", "tool_call", "message", "done", "error"]);

/** A socket message as an assistant event (`chat_response` or `agent_status`), or `null`. */
export function parseAssistantEvent(data: unknown): ChatResponseEvent | AgentStatusEvent | null {
  const obj = messageObject(data);
  if (obj === null) return null;
  if (obj.type === "chat_response" && typeof obj.session_id === "string" && typeof obj.step === "string" && STEPS.has(obj.step)) {
    return obj as unknown as ChatResponseEvent;
  }
  if (obj.type === "agent_status" && typeof obj.task === "object" && obj.task !== null && typeof (obj.task as { task_id?: unknown }).task_id === "string") {
    return obj as unknown as AgentStatusEvent;
  }
  return null;
}
