/**
 * The stored strategies (`GET /strategies/list`), and saving and deleting one: each change puts the
 * answer into the cached list at once and marks the list stale.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { createStrategy, deleteStrategy, listStrategies, type SaveOutcome, updateStrategy } from "../../api/endpoints/strategies";
import type { Strategy } from "../../api/types";
import { strategyKeys } from "../../queries/keys/strategies";

export interface Draft {
  /** `null`: not stored yet. */
  id: number | null;
  name: string;
  description: string;
  code: string;
}

export function useStrategyList(): { strategies: Strategy[] | null; error: unknown; loading: boolean } {
  const { data, error, isFetching } = useQuery({ queryKey: strategyKeys.list(), queryFn: ({ signal }) => listStrategies(signal) });
  return { strategies: data ?? null, error, loading: isFetching };
}

/** Stores a draft: a new strategy, or a new version of the stored one. */
export function useSaveStrategy() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (draft: Draft): Promise<SaveOutcome> =>
      draft.id === null
        ? createStrategy({ name: draft.name.trim(), code: draft.code, description: draft.description })
        : updateStrategy(draft.id, { name: draft.name.trim(), code: draft.code, description: draft.description }),
    onSuccess: (outcome) => {
      if (outcome.kind !== "saved") return;
      const saved = outcome.strategy;
      client.setQueryData<Strategy[]>(strategyKeys.list(), (list) => {
        if (list === undefined) return [saved];
        return list.some((s) => s.id === saved.id) ? list.map((s) => (s.id === saved.id ? saved : s)) : [...list, saved];
      });
      void client.invalidateQueries({ queryKey: strategyKeys.list(), refetchType: "none" });
      void client.invalidateQueries({ queryKey: strategyKeys.versions(saved.id) });
    },
  });
}

export function useDeleteStrategy() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: number) => deleteStrategy(id),
    onSuccess: (_, id) => {
      client.setQueryData<Strategy[]>(strategyKeys.list(), (list) => list?.filter((s) => s.id !== id));
      void client.invalidateQueries({ queryKey: strategyKeys.list(), refetchType: "none" });
      client.removeQueries({ queryKey: strategyKeys.runsOf(id) });
    },
  });
}
