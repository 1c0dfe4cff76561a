/**
 * The Analysis page's right pane: the AI assistant. Its sessions, the conversation (streamed as
 * `chat_response` events over the events socket), tool cards with their confirmations, chart
 * references opened on the chart, and agent tasks. Without a model provider it says how to connect
 * one (the server's `help`) and takes no message; the rest of the page does not mind.
 */
import { useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import type { Dataset, Timeframe } from "../../api/types";
import { strategyKeys } from "../../queries/keys/strategies";
import { ProblemBox } from "../../ui/ProblemBox";
import { AgentsPanel } from "./AgentsPanel";
import { Composer, MessageList } from "./Conversation";
import type { ChartTarget } from "./references";
import { SessionList } from "./SessionList";
import { pendingConfirmations } from "./stream";
import { useAssistantEvents, useAssistantStatus, useConversation, useSessions } from "./useAssistant";

type Tab = "chat" | "agents";

interface Props {
  /** The stored datasets (a reference opens on one of its symbol). */
  datasets: readonly Dataset[] | null;
  /** The charted symbol and timeframe, told to the assistant with each message. */
  symbol: string | null;
  timeframe: Timeframe | null;
  /** Go to a reference on the chart. */
  onOpen: (target: ChartTarget) => void;
  /** Open a strategy the assistant saved in the Strategies workbench. */
  onApplyStrategy: (strategyId: number) => void;
}

export function AssistantPane({ datasets, symbol, timeframe, onOpen, onApplyStrategy }: Props) {
  const client = useQueryClient();
  const [tab, setTab] = useState<Tab>("chat");
  const { status, error: statusError } = useAssistantStatus();
  const conversation = useConversation({ symbol, timeframe });
  const live = useAssistantEvents(conversation.onEvent);
  const { sessions, error: sessionsError } = useSessions();
  const { state } = conversation;
  // A strategy saved in this conversation is listed once the list is read again.
  const applyStrategy = (id: number): void => {
    void client.invalidateQueries({ queryKey: strategyKeys.list() });
    onApplyStrategy(id);
  };
  const configured = status?.configured === true;
  const waiting = pendingConfirmations(state).length > 0;
  const placeholder =
    status === null
      ? "…"
      : !configured
        ? "Connect a model provider to chat"
        : waiting
          ? "Answer the tool's question first"
          : symbol !== null
            ? `Ask about ${symbol}…`
            : "Ask the assistant…";

  return (
    <div className="assistant" data-testid="assistant" data-configured={status === null ? "" : configured ? "true" : "false"}>
      <div className="assistant-head">
        <div className="assistant-title">
          <span className="pane-head-title">Assistant</span>
          {status?.model ? (
            <span className="muted assistant-model" title={status.provider ?? ""}>
              {status.model}
            </span>
          ) : null}
        </div>
        {status !== null && status.daily_token_budget > 0 ? (
          <div className="muted assistant-budget" data-testid="assistant-budget" title="Model tokens used today, of the daily budget">
            {status.tokens_used_today.toLocaleString("en-US")} / {status.daily_token_budget.toLocaleString("en-US")} tokens today
          </div>
        ) : null}
      </div>
      <div className="under-tabs assistant-tabs" role="tablist" aria-label="Assistant views">
        {(
          [
            ["chat", "Chat"],
            ["agents", "Agents"],
          ] as const
        ).map(([key, label]) => (
          <button key={key} type="button" role="tab" aria-selected={tab === key} className={tab === key ? "under-tab active" : "under-tab"} onClick={() => setTab(key)} data-testid={`assistant-tab-${key}`}>
            {label}
          </button>
        ))}
      </div>
      <ProblemBox error={statusError} testId="assistant-status-problem" />
      {status !== null && !configured ? (
        <div className="assistant-help" data-testid="assistant-help" role="note">
          <strong>No model provider is connected.</strong>
          <div className="assistant-help-text">{status.help}</div>
        </div>
      ) : null}
      {tab === "chat" ? (
        <>
          <SessionList sessions={sessions} current={state.sessionId} onOpen={conversation.open} onNew={() => conversation.open(null)} onDelete={(id) => void conversation.remove(id)} />
          <ProblemBox error={sessionsError} testId="chat-sessions-problem" />
          <MessageList
            state={state}
            datasets={datasets}
            onOpen={onOpen}
            onApplyStrategy={applyStrategy}
            onConfirm={(call, approve, always) => void conversation.confirm(call, approve, always)}
            confirming={conversation.confirming}
          />
          <ProblemBox error={conversation.problem} testId="chat-problem" />
          <Composer
            disabled={!configured || waiting}
            placeholder={placeholder}
            running={state.running}
            canStop={state.jobId !== null || state.sessionId !== null}
            onSend={conversation.send}
            onStop={() => void conversation.stop()}
          />
        </>
      ) : (
        <AgentsPanel live={live} datasets={datasets} onOpen={onOpen} />
      )}
    </div>
  );
}
