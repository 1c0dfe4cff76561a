/** Admin: every user's API keys, with revoke. */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { listAllApiKeys, revokeAnyApiKey } from "../../api/endpoints/admin";
import type { ApiKeyInfo } from "../../api/types";
import { adminKeys } from "../../queries/keys/admin";
import { ProblemBox } from "../../ui/ProblemBox";
import { KeyTable } from "../account/KeyTable";

export function AllKeys() {
  const client = useQueryClient();
  const keys = useQuery({ queryKey: adminKeys.apiKeys(), queryFn: ({ signal }) => listAllApiKeys(signal) });
  const reload = (): void => {
    void keys.refetch();
  };
  const [error, setError] = useState<unknown>(null);
  const onRevoke = async (key: ApiKeyInfo): Promise<void> => {
    setError(null);
    try {
      await revokeAnyApiKey(key.prefix);
      void client.invalidateQueries({ queryKey: adminKeys.apiKeys() });
    } catch (e) {
      setError(e);
    }
  };
  return (
    <div>
      <div className="row section-tools">
        <button className="btn btn-small" onClick={reload} disabled={keys.isFetching}>
          Reload
        </button>
      </div>
      <ProblemBox error={keys.error ?? error} testId="admin-keys-problem" />
      {keys.data !== undefined ? (
        <KeyTable keys={keys.data} showOwner onRevoke={onRevoke} testId="admin-keys" />
      ) : keys.isFetching ? (
        <div className="muted">Loading…</div>
      ) : null}
    </div>
  );
}
