/** The user's chat sessions (title, last change, how the last turn went), a new one, and deleting one. */
import { useState } from "react";

import type { ChatSession, TurnState } from "./types";

const STATE: Partial<Record<TurnState, [string, string]>> = {
  running: ["running", "pill-running"],
  awaiting_confirmation: ["needs you", "pill-awaiting"],
  complete: ["done", "pill-complete"],
  failed: ["failed", "pill-failed"],
  cancelled: ["stopped", "pill-cancelled"],
};

export function sessionTime(iso: string, now: Date = new Date()): string {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return "";
  const sameDay = at.toDateString() === now.toDateString();
  return sameDay
    ? at.toLocaleTimeString("en-US", { hour: "2-digit", minute: "2-digit" })
    : at.toLocaleDateString("en-US", { month: "short", day: "numeric" });
}

interface Props {
  sessions: readonly ChatSession[] | null;
  current: string | null;
  onOpen: (session: ChatSession) => void;
  onNew: () => void;
  onDelete: (sessionId: string) => void;
}

export function SessionList({ sessions, current, onOpen, onNew, onDelete }: Props) {
  const [deleting, setDeleting] = useState<string | null>(null);
  return (
    <div className="chat-sessions">
      <div className="chat-sessions-head">
        <span className="muted">Sessions</span>
        <button type="button" className="btn btn-small" onClick={onNew} disabled={current === null} data-testid="chat-new">
          + New session
        </button>
      </div>
      {sessions !== null && sessions.length > 0 ? (
        <ul className="chat-session-list" aria-label="Chat sessions">
          {sessions.map((s) => {
            const [text, pill] = STATE[s.state] ?? [s.state, ""];
            const active = s.session_id === current;
            return (
              <li key={s.session_id} className={active ? "chat-session active" : "chat-session"} data-testid="chat-session" data-state={s.state}>
                <button type="button" className="chat-session-open" onClick={() => onOpen(s)} aria-current={active ? "true" : undefined} title={s.title}>
                  <span className="chat-session-title">{s.title}</span>
                  <span className="chat-session-meta">
                    <time dateTime={s.updated_at}>{sessionTime(s.updated_at)}</time>
                    <span className={`pill chat-session-state ${pill}`}>{text}</span>
                  </span>
                </button>
                {deleting === s.session_id ? (
                  <span className="chat-session-confirm">
                    <button type="button" className="btn btn-small btn-danger" onClick={() => onDelete(s.session_id)} data-testid="chat-delete-confirm">
                      Delete
                    </button>
                    <button type="button" className="btn btn-small" onClick={() => setDeleting(null)}>
                      Keep
                    </button>
                  </span>
                ) : (
                  <button type="button" className="chat-session-delete" onClick={() => setDeleting(s.session_id)} aria-label={`Delete session ${s.title}`} title="Delete">
                    ×
                  </button>
                )}
              </li>
            );
          })}
        </ul>
      ) : sessions !== null ? (
        <div className="muted pad-small">No sessions yet.</div>
      ) : null}
    </div>
  );
}
