/** /account: who I am, and my API keys (list, create — the key shown once — and revoke). */
import { skipToken, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { listMyApiKeys, revokeMyApiKey } from "../api/endpoints/apiKeys";
import type { ApiKeyCreated, ApiKeyInfo } from "../api/types";
import { CreateKeyForm } from "../features/account/CreateKeyForm";
import { KeyTable } from "../features/account/KeyTable";
import { NewKey } from "../features/account/NewKey";
import { useAuth } from "../features/auth/context";
import { ROLE_TEXT } from "../features/auth/roles";
import { accountKeys } from "../queries/keys/account";
import { ProblemBox } from "../ui/ProblemBox";

export default function Account() {
  const { user } = useAuth();
  const client = useQueryClient();
  const username = user?.username ?? null;
  const keysKey = accountKeys.apiKeys(username ?? "");
  const keys = useQuery({ queryKey: keysKey, queryFn: username === null ? skipToken : ({ signal }) => listMyApiKeys(signal) });
  const [created, setCreated] = useState<ApiKeyCreated | null>(null);
  const [error, setError] = useState<unknown>(null);
  if (user === null) return null;

  const onCreated = (c: ApiKeyCreated): void => {
    setCreated(c);
    client.setQueryData<ApiKeyInfo[]>(keysKey, (list) => [c.info, ...(list ?? []).filter((k) => k.prefix !== c.info.prefix)]);
  };
  const onRevoke = async (key: ApiKeyInfo): Promise<void> => {
    setError(null);
    try {
      await revokeMyApiKey(key.prefix);
      void client.invalidateQueries({ queryKey: keysKey });
    } catch (e) {
      setError(e);
    }
  };

  return (
    <div className="page account-page">
      <h1 className="page-title">Account</h1>
      <section className="panel">
        <dl className="facts facts-wide">
          <div className="fact">
            <dt>User</dt>
            <dd data-testid="account-username">{user.username}</dd>
          </div>
          <div className="fact">
            <dt>Role</dt>
            <dd>
              <span className={`role role-${user.role}`}>{user.role}</span> <span className="muted">— {ROLE_TEXT[user.role]}</span>
            </dd>
          </div>
        </dl>
      </section>

      <section className="section">
        <h2 className="section-title">API keys</h2>
        <p className="muted">
          For notebooks and scripts: send <code>Authorization: Bearer &lt;key&gt;</code>. A key acts with its own role, never more than
          yours.
        </p>
        <CreateKeyForm ownRole={user.role} onCreated={onCreated} />
        {created !== null ? <NewKey created={created} onDismiss={() => setCreated(null)} /> : null}
        <ProblemBox error={keys.error ?? error} testId="keys-problem" />
        {keys.data !== undefined ? <KeyTable keys={keys.data} onRevoke={onRevoke} testId="my-keys" /> : keys.isFetching ? <div className="muted">Loading…</div> : null}
      </section>
    </div>
  );
}
