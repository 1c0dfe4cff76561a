/**
 * The assistant's server state: its status, the user's sessions, the conversation shown (a reducer,
 * `stream.ts`, fed by `chat_response` events and the history), agent workflows and tasks (kept
 * current by `agent_status` events), and the one events socket the pane listens to.
 */
import { skipToken, useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useReducer, useRef, useState } from "react";

import { cancelJob } from "../../api/endpoints/jobs";
import { errorMessage, isAbortError } from "../../api/problem";
import type { Timeframe } from "../../api/types";
import { useEventSocket } from "../../queries/useEventSocket";
import { assistantKeys, cancelTurn, confirmTool, deleteSession, getAssistantStatus, getHistory, listTasks, listWorkflows, sendMessage } from "./api";
import { INITIAL_STREAM, parseAssistantEvent, streamReducer, type StreamState } from "./stream";
import type { AgentTask, AssistantStatus, ChatMessageRequest, ChatResponseEvent, ChatSession, TaskState, ToolCall, WorkflowTemplate } from "./types";

/** How often tasks are read again while one runs and the socket is closed. */
export const TASK_POLL_MS = 2000;
const SYMBOL = /^[A-Za-z0-9][A-Za-z0-9.:-]{0,19}$/;

export function useAssistantStatus(): { status: AssistantStatus | null; error: unknown } {
  const query = useQuery({ queryKey: assistantKeys.status(), queryFn: ({ signal }) => getAssistantStatus(signal) });
  return { status: query.data ?? null, error: query.error };
}

export function useSessions(): { sessions: ChatSession[] | null; error: unknown } {
  const query = useQuery({ queryKey: assistantKeys.sessions(), queryFn: async ({ signal }) => (await getHistory(null, signal)).sessions });
  return { sessions: query.data ?? null, error: query.error };
}

export function isActive(state: TaskState): boolean {
  return state === "queued" || state === "running";
}

/** Puts `task` in the list (newest first) in place of the one of the same id. */
export function upsertTask(list: readonly AgentTask[] | undefined, task: AgentTask): AgentTask[] {
  const tasks = list ?? [];
  return tasks.some((t) => t.task_id === task.task_id) ? tasks.map((t) => (t.task_id === task.task_id ? task : t)) : [task, ...tasks];
}

export function useAgentTasks(live: boolean, enabled: boolean): { tasks: AgentTask[] | null; error: unknown } {
  const query = useQuery({
    queryKey: assistantKeys.tasks(),
    queryFn: enabled ? ({ signal }) => listTasks(null, signal) : skipToken,
    refetchInterval: (q) => (!live && q.state.data?.some((t) => isActive(t.state)) === true ? TASK_POLL_MS : false),
  });
  return { tasks: query.data ?? null, error: query.error };
}

export function useWorkflows(enabled: boolean): { workflows: WorkflowTemplate[] | null; error: unknown } {
  const query = useQuery({ queryKey: assistantKeys.workflows(), queryFn: enabled ? ({ signal }) => listWorkflows(signal) : skipToken, staleTime: Infinity });
  return { workflows: query.data ?? null, error: query.error };
}

/**
 * The events socket, while the pane is shown: a turn's steps go to `onChat`, a task's new state into
 * the cached task list. Returns whether the socket is open.
 */
export function useAssistantEvents(onChat: (event: ChatResponseEvent) => void): boolean {
  const client = useQueryClient();
  return useEventSocket("assistant", (data) => {
    const event = parseAssistantEvent(data);
    if (event?.type === "chat_response") onChat(event);
    else if (event?.type === "agent_status") client.setQueryData<AgentTask[]>(assistantKeys.tasks(), (list) => upsertTask(list, event.task));
    // Nothing here is for the query cache's own handlers (`serverEvents.ts`).
    return null;
  });
}

export interface ChartContext {
  symbol: string | null;
  timeframe: Timeframe | null;
}

export interface Conversation {
  state: StreamState;
  /** Why the last request failed (sending, confirming, stopping, deleting), as the server said. */
  problem: unknown;
  /** The tool call whose answer is being sent. */
  confirming: string | null;
  open: (session: ChatSession | null) => void;
  /** Sends a message; whether the server took it. */
  send: (text: string) => Promise<boolean>;
  confirm: (call: ToolCall, approve: boolean, always: boolean) => Promise<void>;
  stop: () => Promise<void>;
  remove: (sessionId: string) => Promise<void>;
  /** For the socket: one `chat_response` event. */
  onEvent: (event: ChatResponseEvent) => void;
}

export function useConversation(context: ChartContext): Conversation {
  const client = useQueryClient();
  const [state, dispatch] = useReducer(streamReducer, INITIAL_STREAM);
  const [problem, setProblem] = useState<unknown>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const current = useRef(state);
  useEffect(() => {
    current.current = state;
  });

  const refreshLists = useCallback(() => {
    void client.invalidateQueries({ queryKey: assistantKeys.sessions() });
    void client.invalidateQueries({ queryKey: assistantKeys.status() });
  }, [client]);

  const load = useCallback(
    async (sessionId: string) => {
      try {
        const history = await getHistory(sessionId);
        dispatch({ type: "history", sessionId, messages: history.messages ?? [] });
        client.setQueryData(assistantKeys.sessions(), history.sessions);
      } catch (error) {
        if (!isAbortError(error)) dispatch({ type: "historyFailed", sessionId, error: errorMessage(error) });
      }
    },
    [client],
  );

  const open = useCallback(
    (session: ChatSession | null) => {
      setProblem(null);
      dispatch({ type: "open", sessionId: session?.session_id ?? null, running: session?.state === "running" });
      if (session !== null) void load(session.session_id);
    },
    [load],
  );

  const onEvent = useCallback(
    (event: ChatResponseEvent) => {
      dispatch({ type: "event", event });
      if (event.step !== "done" && event.step !== "error") return;
      // The stored messages are the truth (deltas may have been dropped): read them again.
      refreshLists();
      if (event.session_id === current.current.sessionId) void load(event.session_id);
    },
    [load, refreshLists],
  );

  const send = async (text: string): Promise<boolean> => {
    const sessionId = current.current.sessionId;
    const body: ChatMessageRequest = { message: text };
    if (sessionId !== null) body.session_id = sessionId;
    if (context.symbol !== null && SYMBOL.test(context.symbol)) body.symbol = context.symbol;
    if (context.timeframe !== null) body.timeframe = context.timeframe;
    setProblem(null);
    dispatch({ type: "send", text, now: new Date().toISOString() });
    try {
      const accepted = await sendMessage(body);
      dispatch({ type: "accepted", accepted });
      if (sessionId === null) {
        refreshLists();
        void load(accepted.session_id);
      }
      return true;
    } catch (error) {
      dispatch({ type: "rejected", error: null });
      setProblem(error);
      return false;
    }
  };

  const confirm = async (call: ToolCall, approve: boolean, always: boolean): Promise<void> => {
    const sessionId = current.current.sessionId;
    if (sessionId === null) return;
    setProblem(null);
    setConfirming(call.id);
    try {
      const accepted = await confirmTool({ session_id: sessionId, tool_call_id: call.id, approve, always });
      dispatch({ type: "resumed", toolCallId: call.id, accepted });
    } catch (error) {
      setProblem(error);
    } finally {
      setConfirming(null);
    }
  };

  const stop = async (): Promise<void> => {
    const { jobId, sessionId } = current.current;
    if (jobId === null && sessionId === null) return;
    try {
      // The turn's job when this page started it; else the session's turn (started before a reload).
      if (jobId !== null) await cancelJob(jobId);
      else if (sessionId !== null) await cancelTurn(sessionId);
      dispatch({ type: "stopped" });
    } catch (error) {
      setProblem(error);
    }
    refreshLists();
    if (sessionId !== null) void load(sessionId);
  };

  const remove = async (sessionId: string): Promise<void> => {
    setProblem(null);
    try {
      await deleteSession(sessionId);
      client.setQueryData<ChatSession[]>(assistantKeys.sessions(), (list) => list?.filter((s) => s.session_id !== sessionId));
      if (current.current.sessionId === sessionId) dispatch({ type: "open", sessionId: null });
    } catch (error) {
      setProblem(error);
    }
  };

  return { state, problem, confirming, open, send, confirm, stop, remove, onEvent };
}
