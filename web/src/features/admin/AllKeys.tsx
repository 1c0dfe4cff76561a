/** Admin: every user's API keys, with revoke. */
import { useState } from "react";

import { listAllApiKeys, revokeAnyApiKey } from "../../api/client";
import type { ApiKeyInfo } from "../../api/types";
import { useResource } from "../../lib/useResource";
import { ProblemBox } from "../../ui/ProblemBox";
import { KeyTable } from "../account/KeyTable";

export function AllKeys() {
  const keys = useResource(listAllApiKeys, "all-keys");
  const [error, setError] = useState<unknown>(null);
  const onRevoke = async (key: ApiKeyInfo): Promise<void> => {
    setError(null);
    try {
      await revokeAnyApiKey(key.prefix);
      keys.reload();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <div>
      <div className="row section-tools">
        <button className="btn btn-small" onClick={keys.reload} disabled={keys.loading}>
          Reload
        </button>
      </div>
      <ProblemBox error={keys.error ?? error} testId="admin-keys-problem" />
      {keys.data !== null ? (
        <KeyTable keys={keys.data} showOwner onRevoke={onRevoke} testId="admin-keys" />
      ) : keys.loading ? (
        <div className="muted">Loading…</div>
      ) : null}
    </div>
  );
}
