/**
 * The conversation: the user's and the assistant's messages (the assistant's as safe markdown with
 * its cited numbers, tool cards and chart references), the message being written, and the box to
 * write the next one in (Enter sends, Shift+Enter starts a new line; Stop cancels a running turn).
 */
import { type KeyboardEvent, useCallback, useEffect, useRef, useState } from "react";

import type { Dataset } from "../../api/types";
import { MessageMarkdown } from "./Markdown";
import type { ChartTarget } from "./references";
import { ReferenceChips } from "./ReferenceChips";
import type { StreamState } from "./stream";
import { ToolCard, toolDomId } from "./ToolCard";
import type { ChatMessage, ToolCall, Usage } from "./types";

/** The longest message the server takes (`ChatText`). */
export const MAX_MESSAGE = 8000;

function usageText(usage: Usage): string {
  const tokens = usage.input_tokens + usage.output_tokens;
  const cost = usage.cost_usd !== null && usage.cost_usd !== undefined ? ` · $${usage.cost_usd.toFixed(4)}` : "";
  return `${usage.model} · ${tokens.toLocaleString("en-US")} tokens${cost}`;
}

interface ListProps {
  state: StreamState;
  datasets: readonly Dataset[] | null;
  onOpen: (target: ChartTarget) => void;
  onApplyStrategy: (strategyId: number) => void;
  onConfirm: (call: ToolCall, approve: boolean, always: boolean) => void;
  /** The tool call whose answer is being sent. */
  confirming: string | null;
}

export function MessageList({ state, datasets, onOpen, onApplyStrategy, onConfirm, confirming }: ListProps) {
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(() => new Set());
  const toggle = (id: string): void =>
    setExpanded((prev) => {
      const next = new Set(prev);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  // Stable, so that the messages' markdown is not parsed again at each render.
  const showTool = useCallback((id: string): void => {
    setExpanded((prev) => (prev.has(id) ? prev : new Set(prev).add(id)));
    requestAnimationFrame(() => {
      const card = document.getElementById(toolDomId(id));
      if (card === null) return;
      if ("scrollIntoView" in card) card.scrollIntoView({ block: "nearest", behavior: "smooth" });
      card.querySelector<HTMLButtonElement>(".tool-head")?.focus({ preventScroll: true });
    });
  }, []);

  // Follow the end of the conversation while the user is there.
  const scroller = useRef<HTMLDivElement | null>(null);
  const atEnd = useRef(true);
  const size = state.messages.length + state.rounds.reduce((n, r) => n + r.text.length + r.tools.length, 0);
  useEffect(() => {
    const el = scroller.current;
    if (el !== null && atEnd.current) el.scrollTop = el.scrollHeight;
  }, [size, state.sessionId]);

  const card = (call: ToolCall) => (
    <ToolCard
      key={call.id}
      call={call}
      expanded={expanded.has(call.id)}
      onToggle={() => toggle(call.id)}
      onConfirm={state.answered.includes(call.id) ? null : (approve, always) => onConfirm(call, approve, always)}
      confirming={confirming === call.id}
      onApplyStrategy={onApplyStrategy}
    />
  );

  const shown = new Set<string>();
  const view = (m: ChatMessage) => {
    const calls = (m.tool_calls ?? []).filter((c) => !shown.has(c.id));
    for (const c of calls) shown.add(c.id);
    if (m.role === "user") {
      return (
        <div key={m.id} className="msg msg-user" data-testid="chat-message" data-role="user">
          <div className="bubble">{m.content}</div>
        </div>
      );
    }
    // A tool message is data for the model: only its calls are shown (once).
    const text = m.role === "assistant" ? m.content.trim() : "";
    if (text === "" && calls.length === 0 && (m.references ?? []).length === 0) return null;
    return (
      <div key={m.id} className="msg msg-assistant" data-testid="chat-message" data-role={m.role}>
        {text !== "" ? (
          <div className="bubble">
            <MessageMarkdown content={m.content} citations={m.citations} onCite={showTool} />
          </div>
        ) : null}
        {calls.map(card)}
        <ReferenceChips references={m.references ?? []} datasets={datasets} onOpen={onOpen} />
        {m.usage ? <div className="msg-usage muted">{usageText(m.usage)}</div> : null}
      </div>
    );
  };

  const empty = state.messages.length === 0 && state.rounds.length === 0 && !state.running;
  // Before the first words, and while the tools of a round run.
  const last = state.rounds.at(-1);
  const thinking = state.running && (last === undefined || last.text === "" || last.tools.length > 0);
  return (
    <div
      className="chat-messages"
      ref={scroller}
      onScroll={(e) => {
        const el = e.currentTarget;
        atEnd.current = el.scrollHeight - el.scrollTop - el.clientHeight < 60;
      }}
      data-testid="chat-messages"
      data-running={state.running ? "true" : "false"}
    >
      {state.loading ? <div className="muted pad-small">Loading…</div> : null}
      {empty && !state.loading ? (
        <div className="muted pad-small">Ask about the data, a strategy, a backtest… The assistant sees the symbol and timeframe charted.</div>
      ) : null}
      {state.messages.map(view)}
      {state.rounds.map((round, i) => (
        <div key={`round-${i}`} className="msg msg-assistant msg-streaming" data-testid="chat-streaming">
          {round.text !== "" ? (
            <div className="bubble">
              <MessageMarkdown content={round.text} />
            </div>
          ) : null}
          {round.tools.filter((c) => !shown.has(c.id)).map(card)}
        </div>
      ))}
      {thinking ? (
        <div className="msg-thinking muted" aria-live="polite">
          Thinking…
        </div>
      ) : null}
      {state.error !== null ? (
        <div className="problem" role="alert" data-testid="chat-error">
          <div className="problem-detail">{state.error}</div>
        </div>
      ) : null}
    </div>
  );
}

interface ComposerProps {
  disabled: boolean;
  placeholder: string;
  running: boolean;
  /** Stop can cancel the running turn. */
  canStop: boolean;
  onSend: (text: string) => Promise<boolean>;
  onStop: () => void;
}

export function Composer({ disabled, placeholder, running, canStop, onSend, onStop }: ComposerProps) {
  const [text, setText] = useState("");
  const blocked = disabled || running;
  const submit = async (): Promise<void> => {
    const message = text.trim();
    if (message === "" || blocked) return;
    setText("");
    if (!(await onSend(message))) setText((now) => (now === "" ? message : now));
  };
  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>): void => {
    if (e.key !== "Enter" || e.shiftKey || e.nativeEvent.isComposing) return;
    e.preventDefault();
    void submit();
  };
  return (
    <form
      className="composer"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <textarea
        className="input composer-input"
        aria-label="Message the assistant"
        value={text}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={onKeyDown}
        disabled={blocked}
        placeholder={placeholder}
        maxLength={MAX_MESSAGE}
        rows={3}
        data-testid="chat-input"
      />
      <div className="composer-actions">
        <span className="muted composer-hint">Enter sends · Shift+Enter new line</span>
        {running ? (
          <button type="button" className="btn btn-small btn-danger-outline" onClick={onStop} disabled={!canStop} data-testid="chat-stop" title="Stop this turn">
            Stop
          </button>
        ) : (
          <button type="submit" className="btn btn-small btn-primary" disabled={blocked || text.trim() === ""} data-testid="chat-send">
            Send
          </button>
        )}
      </div>
    </form>
  );
}
