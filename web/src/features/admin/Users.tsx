/** Admin: the users — create, change role, deactivate / reactivate, reset a password. */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { type SubmitEvent, useState } from "react";

import { createUser, listUsers, updateUser } from "../../api/endpoints/admin";
import type { Role, UserInfo, UserUpdate } from "../../api/types";
import { formatInstant } from "../../lib/instant";
import { adminKeys } from "../../queries/keys/admin";
import { ProblemBox } from "../../ui/ProblemBox";
import { useAuth } from "../auth/context";
import { isRole, ROLE_TEXT, ROLES } from "../auth/roles";

/** The server's minimum for a new password. */
const MIN_PASSWORD = 10;

interface RoleSelectProps {
  value: Role;
  onChange: (role: Role) => void;
  disabled?: boolean;
  small?: boolean;
  testId: string;
}

function RoleSelect({ value, onChange, disabled = false, small = false, testId }: RoleSelectProps) {
  return (
    <select
      className={small ? "input input-small" : "input"}
      value={value}
      disabled={disabled}
      onChange={(e) => {
        if (isRole(e.target.value)) onChange(e.target.value);
      }}
      data-testid={testId}
    >
      {ROLES.map((r) => (
        <option key={r} value={r} title={ROLE_TEXT[r]}>
          {r}
        </option>
      ))}
    </select>
  );
}

function CreateUserForm({ onCreated }: { onCreated: (user: UserInfo) => void }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [role, setRole] = useState<Role>("viewer");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const submit = async (event: SubmitEvent<HTMLFormElement>): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onCreated(await createUser({ username: username.trim(), password, role }));
      setUsername("");
      setPassword("");
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="form inline-form" onSubmit={(e) => void submit(e)} data-testid="create-user-form">
      <div className="row">
        <label className="field">
          <span>Username</span>
          <input className="input" name="username" autoComplete="off" required value={username} onChange={(e) => setUsername(e.target.value)} />
        </label>
        <label className="field">
          <span>Password</span>
          <input
            className="input"
            name="password"
            type="password"
            autoComplete="new-password"
            required
            minLength={MIN_PASSWORD}
            placeholder={`at least ${MIN_PASSWORD} characters`}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        <label className="field">
          <span>Role</span>
          <RoleSelect value={role} onChange={setRole} testId="new-user-role" />
        </label>
        <div className="field field-button">
          <button className="btn btn-primary" type="submit" disabled={busy || username.trim() === "" || password.length < MIN_PASSWORD} data-testid="create-user">
            {busy ? "Creating…" : "Create user"}
          </button>
        </div>
      </div>
      <ProblemBox error={error} testId="create-user-problem" />
    </form>
  );
}

function PasswordReset({ onSave, onCancel }: { onSave: (password: string) => Promise<void>; onCancel: () => void }) {
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  return (
    <form
      className="row"
      onSubmit={(e) => {
        e.preventDefault();
        setBusy(true);
        void onSave(password).finally(() => setBusy(false));
      }}
    >
      <input
        className="input input-small"
        type="password"
        autoComplete="new-password"
        placeholder={`new password (${MIN_PASSWORD}+ characters)`}
        minLength={MIN_PASSWORD}
        autoFocus
        value={password}
        onChange={(e) => setPassword(e.target.value)}
        data-testid="new-password"
      />
      <button className="btn btn-small btn-primary" type="submit" disabled={busy || password.length < MIN_PASSWORD} data-testid="save-password">
        Save
      </button>
      <button className="btn btn-small" type="button" onClick={onCancel} disabled={busy}>
        Cancel
      </button>
    </form>
  );
}

export function Users() {
  const { user: me } = useAuth();
  const client = useQueryClient();
  const users = useQuery({ queryKey: adminKeys.users(), queryFn: ({ signal }) => listUsers(signal) });
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [resetting, setResetting] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const replace = (updated: UserInfo): void => {
    client.setQueryData<UserInfo[]>(adminKeys.users(), (list) => (list ?? []).map((u) => (u.username === updated.username ? updated : u)));
  };

  const change = async (username: string, update: UserUpdate, done: string): Promise<void> => {
    setBusy(username);
    setError(null);
    setNotice(null);
    try {
      replace(await updateUser(username, update));
      setNotice(done);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(null);
    }
  };

  const list = users.data !== undefined ? [...users.data].sort((a, b) => a.username.localeCompare(b.username)) : null;
  return (
    <div>
      <CreateUserForm
        onCreated={(u) => {
          client.setQueryData<UserInfo[]>(adminKeys.users(), (prev) => [...(prev ?? []).filter((x) => x.username !== u.username), u]);
          setNotice(`Created ${u.username} (${u.role}).`);
        }}
      />
      <ProblemBox error={users.error ?? error} testId="users-problem" />
      {notice !== null ? (
        <div className="notice" role="status" data-testid="users-notice">
          {notice}
        </div>
      ) : null}
      {list === null ? (
        users.isFetching ? <div className="muted">Loading…</div> : null
      ) : (
        <div className="table-wrap">
          <table className="table" data-testid="admin-users" data-count={list.length}>
            <thead>
              <tr>
                <th>User</th>
                <th>Role</th>
                <th>State</th>
                <th>Created</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {list.map((u) => {
                const self = u.username === me?.username;
                const rowBusy = busy === u.username;
                return (
                  <tr key={u.username} data-testid="user-row" data-username={u.username} data-role={u.role} data-active={u.is_active ? "true" : "false"}>
                    <td>
                      <strong>{u.username}</strong>
                      {self ? <span className="muted"> (you)</span> : null}
                    </td>
                    <td>
                      <RoleSelect
                        value={u.role}
                        disabled={self || rowBusy}
                        onChange={(role) => void change(u.username, { role }, `${u.username} is now ${role}.`)}
                        small
                        testId="user-role"
                      />
                    </td>
                    <td>
                      <span className={u.is_active ? "pill pill-key-active" : "pill pill-key-revoked"}>{u.is_active ? "active" : "deactivated"}</span>
                    </td>
                    <td className="nowrap">{formatInstant(u.created_at)}</td>
                    <td className="actions">
                      {resetting === u.username ? (
                        <PasswordReset
                          onSave={async (password) => {
                            await change(u.username, { password }, `Password of ${u.username} reset.`);
                            setResetting(null);
                          }}
                          onCancel={() => setResetting(null)}
                        />
                      ) : (
                        <span className="row">
                          <button className="btn btn-small" onClick={() => setResetting(u.username)} disabled={rowBusy} data-testid="reset-password">
                            Reset password…
                          </button>
                          <button
                            className={u.is_active ? "btn btn-small btn-danger-outline" : "btn btn-small"}
                            disabled={self || rowBusy}
                            title={self ? "You cannot deactivate yourself" : undefined}
                            onClick={() =>
                              void change(u.username, { is_active: !u.is_active }, `${u.username} ${u.is_active ? "deactivated" : "reactivated"}.`)
                            }
                            data-testid={u.is_active ? "deactivate-user" : "reactivate-user"}
                          >
                            {u.is_active ? "Deactivate" : "Reactivate"}
                          </button>
                        </span>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
