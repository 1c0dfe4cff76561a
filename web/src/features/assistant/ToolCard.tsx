/**
 * A tool the assistant called: its name and state, the one line it did, and — opened — its
 * arguments and its result (JSON, folded). A writing tool awaiting the user asks "Run" / "Don't run"
 * (and whether to stop asking in this session); a strategy the assistant saved can be opened in the
 * Strategies workbench.
 */
import { useState } from "react";

import type { ToolCall, ToolCallState } from "./types";

const STATE_TEXT: Partial<Record<ToolCallState, string>> = {
  done: "done",
  failed: "failed",
  refused: "refused",
  awaiting_confirmation: "awaiting your answer",
  approved: "running",
  declined: "not run",
};

/** Most characters of a tool's JSON shown. */
const JSON_CHARS = 20_000;

/** The element id of a tool call's card (citations scroll to it). */
export function toolDomId(id: string): string {
  return `tool-${id.replace(/[^A-Za-z0-9_-]/g, "_")}`;
}

export function jsonText(value: unknown): string {
  let text: string;
  try {
    // Values parsed from JSON: only `undefined` (a field absent) has no JSON text.
    text = value === undefined ? "—" : JSON.stringify(value, null, 2);
  } catch {
    text = String(value);
  }
  return text.length > JSON_CHARS ? `${text.slice(0, JSON_CHARS)}\n… (${text.length - JSON_CHARS} more characters)` : text;
}

/** The strategy a `create_strategy` call saved, or `null`. */
export function createdStrategy(call: ToolCall): number | null {
  if (call.name !== "create_strategy" || call.state !== "done") return null;
  const result = call.result;
  if (typeof result !== "object" || result === null) return null;
  const id = (result as { strategy_id?: unknown }).strategy_id;
  return typeof id === "number" && Number.isInteger(id) && id > 0 ? id : null;
}

function Folded({ label, value }: { label: string; value: unknown }) {
  const [open, setOpen] = useState(false);
  return (
    <details className="tool-json" open={open} onToggle={(e) => setOpen(e.currentTarget.open)}>
      <summary>{label}</summary>
      {open ? <pre>{jsonText(value)}</pre> : null}
    </details>
  );
}

interface Props {
  call: ToolCall;
  expanded: boolean;
  onToggle: () => void;
  /** Answer a call awaiting confirmation (`null`: it cannot be answered here). */
  onConfirm: ((approve: boolean, always: boolean) => void) | null;
  /** The answer is being sent. */
  confirming: boolean;
  onApplyStrategy: ((strategyId: number) => void) | null;
}

export function ToolCard({ call, expanded, onToggle, onConfirm, confirming, onApplyStrategy }: Props) {
  const [always, setAlways] = useState(false);
  const awaiting = call.state === "awaiting_confirmation" && onConfirm !== null;
  const open = expanded || awaiting;
  const strategyId = createdStrategy(call);
  return (
    <section role="group" aria-label={`Tool ${call.name}`} id={toolDomId(call.id)} className={`tool-card tool-${call.state}`} data-testid="tool-card" data-state={call.state} data-tool={call.name}>
      <button type="button" className="tool-head" aria-expanded={open} onClick={onToggle}>
        <span aria-hidden="true">{open ? "▾" : "▸"}</span>
        <span className="tool-name">{call.name}</span>
        {call.writes ? <span className="tool-writes" title="Writes or spends: runs only once you confirm">writes</span> : null}
        <span className={`tool-state tool-state-${call.state}`}>{STATE_TEXT[call.state] ?? call.state}</span>
      </button>
      {call.summary ? <div className="tool-summary">{call.summary}</div> : null}
      {call.error ? <div className="tool-error error-text">{call.error}</div> : null}
      {open ? (
        <div className="tool-body">
          <div className="tool-args">
            <span className="muted">Arguments</span>
            <pre>{jsonText(call.arguments)}</pre>
          </div>
          {call.result !== undefined && call.result !== null ? <Folded label="Result" value={call.result} /> : null}
        </div>
      ) : null}
      {awaiting ? (
        <div className="tool-confirm">
          <span>Run this tool?</span>
          <label className="check">
            <input type="checkbox" checked={always} onChange={(e) => setAlways(e.target.checked)} disabled={confirming} />
            Don&apos;t ask again this session
          </label>
          <div className="row">
            <button type="button" className="btn btn-primary btn-small" disabled={confirming} onClick={() => onConfirm(true, always)}>
              Run
            </button>
            <button type="button" className="btn btn-small" disabled={confirming} onClick={() => onConfirm(false, always)}>
              Don&apos;t run
            </button>
          </div>
        </div>
      ) : null}
      {strategyId !== null && onApplyStrategy !== null ? (
        <button type="button" className="btn btn-small tool-apply" onClick={() => onApplyStrategy(strategyId)} data-testid="apply-strategy">
          Apply strategy
        </button>
      ) : null}
    </section>
  );
}
