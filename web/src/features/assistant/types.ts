/**
 * The assistant's contracts (`schemas/chat.py`, `schemas/agents.py`): aliases of the schema generated
 * from the server's OpenAPI document (`npm run gen:types`), as in `api/types.ts`; the two events and the
 * bodies this pane sends are written here (WebSocket messages are not in the document, and the
 * generated request types make every field with a default required).
 */
import type { components } from "../../api/generated/schema";

type Schemas = components["schemas"];

export type AssistantStatus = Schemas["AssistantStatus"];
export type ToolInfo = Schemas["ToolInfo"];
export type ChatAccepted = Schemas["ChatAccepted"];
export type ChatHistory = Schemas["ChatHistory"];
export type ChatMessage = Schemas["ChatMessage"];
export type ChatMessageRequest = Schemas["ChatMessageRequest"];
export type ChatSession = Schemas["ChatSession"];
export type Citation = Schemas["Citation"];
/** A tool the assistant called, with what it returned (or why it did not run). */
export type ToolCall = Schemas["ToolCall"];
export type Usage = Schemas["Usage"];
export type ToolConfirmation = Pick<Schemas["ToolConfirmation"], "session_id" | "tool_call_id" | "approve"> & { always?: boolean };

export type MarkerReference = Schemas["MarkerReference"];
export type PriceLineReference = Schemas["PriceLineReference"];
export type RangeReference = Schemas["RangeReference"];
export type TradesReference = Schemas["TradesReference"];
export type ProjectionReference = Schemas["ProjectionReference"];
export type IndicatorReference = Schemas["IndicatorReference"];
/** What a message points at on the chart (tagged by `kind`). */
export type ChartReference = MarkerReference | PriceLineReference | RangeReference | TradesReference | ProjectionReference | IndicatorReference;

export type ProviderName = Usage["provider"];
export type MessageRole = ChatMessage["role"];
/** `done`: ran; `failed`: ran and raised; `refused`: not allowed or unknown; `awaiting_confirmation`: a writing tool waits for the user; `approved`: about to run; `declined`: the user said no. */
export type ToolCallState = ToolCall["state"];
export type TurnState = ChatSession["state"];

/** A `chat_response` event: one step of a turn, sent to the session's owner. */
export interface ChatResponseEvent {
  type: "chat_response";
  session_id: string;
  owner: string;
  step: "delta" | "tool_call" | "message" | "done" | "error";
  text?: string | null;
  tool_call?: ToolCall | null;
  message?: ChatMessage | null;
  state?: TurnState | null;
  error?: string | null;
}

// ---------------------------------------------------------------------------------------------
// Agent tasks
// ---------------------------------------------------------------------------------------------

export type AgentStep = Schemas["AgentStep"];
export type AgentTask = Schemas["AgentTask"];
export type AgentTaskAccepted = Schemas["AgentTaskAccepted"];
export type WorkflowTemplate = Schemas["WorkflowTemplate"];
export type TaskLimits = Schemas["TaskLimits"];
export type TaskState = AgentTask["state"];
export type StepState = AgentStep["state"];
export type WorkflowName = WorkflowTemplate["name"];

type Universe = Schemas["BacktestUniverseParams"];
/** A universe backtest as this pane asks for it (the server's defaults for the rest). */
export type BacktestUniverseParams = Pick<Universe, "workflow" | "symbols"> & Partial<Omit<Universe, "workflow" | "symbols">>;
export type ResearchParams = Schemas["ResearchParams"];
export type WorkflowParams = BacktestUniverseParams | ResearchParams;

/** Body of `POST /agents/task`. */
export interface AgentTaskRequest {
  params: WorkflowParams;
  limits?: Partial<TaskLimits>;
}

/** An `agent_status` event: a task's state changed. */
export interface AgentStatusEvent {
  type: "agent_status";
  owner: string;
  task: AgentTask;
}
