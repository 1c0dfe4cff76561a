/** A table of API keys with a two-step Revoke; shared by /account (own keys) and /admin (everyone's). */
import { useState } from "react";

import type { ApiKeyInfo } from "../../api/types";
import { formatInstant } from "../../lib/instant";
import { keyState, sortKeys } from "./keys";

interface Props {
  keys: readonly ApiKeyInfo[];
  /** Show whose key each is (admin view). */
  showOwner?: boolean;
  onRevoke: (key: ApiKeyInfo) => Promise<void>;
  testId: string;
}

export function KeyTable({ keys, showOwner = false, onRevoke, testId }: Props) {
  const [confirming, setConfirming] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  // Keys are judged active or expired as of when the table was first drawn.
  const [now] = useState(Date.now);

  const revoke = async (key: ApiKeyInfo): Promise<void> => {
    setBusy(key.prefix);
    try {
      await onRevoke(key);
    } finally {
      setBusy(null);
      setConfirming(null);
    }
  };

  if (keys.length === 0) {
    return (
      <div className="empty" data-testid={testId} data-count="0">
        No API keys.
      </div>
    );
  }
  return (
    <div className="table-wrap">
      <table className="table" data-testid={testId} data-count={keys.length}>
        <thead>
          <tr>
            <th>Prefix</th>
            <th>Name</th>
            {showOwner ? <th>User</th> : null}
            <th>Role</th>
            <th>Created</th>
            <th>Last used</th>
            <th>Expires</th>
            <th>State</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {sortKeys(keys, now).map((key) => {
            const state = keyState(key, now);
            return (
              <tr key={key.prefix} data-testid="key-row" data-prefix={key.prefix} data-state={state} data-username={key.username}>
                <td>
                  <code>{key.prefix}</code>
                </td>
                <td>{key.name}</td>
                {showOwner ? <td>{key.username}</td> : null}
                <td>
                  <span className={`role role-${key.role}`}>{key.role}</span>
                </td>
                <td className="nowrap">{formatInstant(key.created_at)}</td>
                <td className="nowrap">{formatInstant(key.last_used_at)}</td>
                <td className="nowrap">{key.expires_at !== null ? formatInstant(key.expires_at) : "never"}</td>
                <td>
                  <span className={`pill pill-key-${state}`}>{state}</span>
                </td>
                <td className="actions">
                  {state === "revoked" ? null : confirming === key.prefix ? (
                    <span className="row">
                      <button className="btn btn-small btn-danger" onClick={() => void revoke(key)} disabled={busy !== null} data-testid="confirm-revoke">
                        {busy === key.prefix ? "Revoking…" : "Revoke"}
                      </button>
                      <button className="btn btn-small" onClick={() => setConfirming(null)} disabled={busy !== null}>
                        Cancel
                      </button>
                    </span>
                  ) : (
                    <button className="btn btn-small btn-danger-outline" onClick={() => setConfirming(key.prefix)} data-testid="revoke-key">
                      Revoke…
                    </button>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
