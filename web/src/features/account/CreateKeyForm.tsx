/** Create an API key: a name, a role no higher than one's own, an optional expiry. */
import { type SubmitEvent, useState } from "react";

import { createApiKey } from "../../api/endpoints/apiKeys";
import type { ApiKeyCreated, Role } from "../../api/types";
import { ProblemBox } from "../../ui/ProblemBox";
import { isRole, ROLE_TEXT, rolesUpTo } from "../auth/roles";
import { EXPIRY_CHOICES, expiryFromDays } from "./keys";

export function CreateKeyForm({ ownRole, onCreated }: { ownRole: Role; onCreated: (created: ApiKeyCreated) => void }) {
  const [name, setName] = useState("");
  const [role, setRole] = useState<Role>(ownRole);
  const [days, setDays] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const submit = async (event: SubmitEvent<HTMLFormElement>): Promise<void> => {
    event.preventDefault();
    if (name.trim() === "") return;
    setBusy(true);
    setError(null);
    try {
      const created = await createApiKey({ name: name.trim(), role, expires_at: expiryFromDays(days) });
      setName("");
      onCreated(created);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="form inline-form" onSubmit={(e) => void submit(e)} data-testid="create-key-form">
      <div className="row">
        <label className="field">
          <span>Name</span>
          <input className="input" name="name" required placeholder="notebook on my laptop" value={name} onChange={(e) => setName(e.target.value)} data-testid="key-name" />
        </label>
        <label className="field">
          <span>Role</span>
          <select
            className="input"
            name="role"
            value={role}
            onChange={(e) => {
              if (isRole(e.target.value)) setRole(e.target.value);
            }}
            data-testid="key-role"
          >
            {rolesUpTo(ownRole).map((r) => (
              <option key={r} value={r} title={ROLE_TEXT[r]}>
                {r}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Expires</span>
          <select
            className="input"
            name="expires"
            value={days === null ? "" : String(days)}
            onChange={(e) => setDays(e.target.value === "" ? null : Number(e.target.value))}
            data-testid="key-expires"
          >
            {EXPIRY_CHOICES.map((c) => (
              <option key={c.label} value={c.days === null ? "" : String(c.days)}>
                {c.label}
              </option>
            ))}
          </select>
        </label>
        <div className="field field-button">
          <button className="btn btn-primary" type="submit" disabled={busy || name.trim() === ""} data-testid="create-key">
            {busy ? "Creating…" : "Create key"}
          </button>
        </div>
      </div>
      <ProblemBox error={error} testId="create-key-problem" />
    </form>
  );
}
