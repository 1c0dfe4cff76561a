/**
 * `/api/v1/chat` and `/api/v1/agents`: the assistant's status, sending a message (202: the turn
 * streams as `chat_response` events), a session's history, answering a proposed writing tool,
 * deleting a session; agent workflows, starting, listing and cancelling tasks.
 */
import { API_PREFIX, requestJson, requestVoid } from "../../api/http";
import type {
  AgentTask,
  AgentTaskAccepted,
  AgentTaskRequest,
  AssistantStatus,
  ChatAccepted,
  ChatHistory,
  ChatMessageRequest,
  ToolConfirmation,
  WorkflowTemplate,
} from "./types";

const CHAT = `${API_PREFIX}/chat`;
const AGENTS = `${API_PREFIX}/agents`;

export function getAssistantStatus(signal?: AbortSignal): Promise<AssistantStatus> {
  return requestJson<AssistantStatus>(`${CHAT}/status`, { signal });
}

/** 202 with the session (new or given), the stored message and the turn's job; 503 without a provider, 429 past the daily budget. */
export function sendMessage(body: ChatMessageRequest): Promise<ChatAccepted> {
  return requestJson<ChatAccepted>(`${CHAT}/message`, { method: "POST", body });
}

/** The user's sessions, and the messages of `sessionId` (oldest first) when given. */
export function getHistory(sessionId: string | null, signal?: AbortSignal): Promise<ChatHistory> {
  const query = sessionId !== null ? `?${new URLSearchParams({ session_id: sessionId }).toString()}` : "";
  return requestJson<ChatHistory>(`${CHAT}/history${query}`, { signal });
}

/** Runs (or not) a writing tool the assistant proposed: 202, the turn goes on. */
export function confirmTool(body: ToolConfirmation): Promise<ChatAccepted> {
  return requestJson<ChatAccepted>(`${CHAT}/confirm`, { method: "POST", body });
}

/** Stops the session's running turn when its job is not known (what it stored so far is kept). */
export async function cancelTurn(sessionId: string): Promise<void> {
  await requestJson<unknown>(`${CHAT}/cancel/${encodeURIComponent(sessionId)}`, { method: "POST" });
}

export function deleteSession(sessionId: string): Promise<void> {
  return requestVoid(`${CHAT}/sessions/${encodeURIComponent(sessionId)}`, { method: "DELETE" });
}

export function listWorkflows(signal?: AbortSignal): Promise<WorkflowTemplate[]> {
  return requestJson<WorkflowTemplate[]>(`${AGENTS}/workflows`, { signal });
}

export function startTask(body: AgentTaskRequest): Promise<AgentTaskAccepted> {
  return requestJson<AgentTaskAccepted>(`${AGENTS}/task`, { method: "POST", body });
}

/** The user's tasks, newest first (or the one task asked for). */
export function listTasks(taskId: string | null = null, signal?: AbortSignal): Promise<AgentTask[]> {
  const query = taskId !== null ? `?${new URLSearchParams({ task_id: taskId }).toString()}` : "";
  return requestJson<AgentTask[]>(`${AGENTS}/status${query}`, { signal });
}

export function cancelTask(taskId: string): Promise<AgentTask> {
  return requestJson<AgentTask>(`${AGENTS}/task/${encodeURIComponent(taskId)}/cancel`, { method: "POST" });
}

/** Query keys of the assistant. */
export const assistantKeys = {
  all: ["assistant"] as const,
  status: () => [...assistantKeys.all, "status"] as const,
  sessions: () => [...assistantKeys.all, "sessions"] as const,
  workflows: () => [...assistantKeys.all, "workflows"] as const,
  tasks: () => [...assistantKeys.all, "tasks"] as const,
};
