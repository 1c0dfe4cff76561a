/** The dataset list from `GET /api/v1/stocks/tables`, sorted, with a reload. */
import { useCallback } from "react";

import { listDatasets } from "../../api/client";
import type { Dataset } from "../../api/types";
import { useResource } from "../../lib/useResource";
import { sortDatasets } from "./model";

export interface DatasetsState {
  datasets: Dataset[] | null;
  error: unknown;
  loading: boolean;
  reload: () => void;
  /** Drops a dataset from the list at once (after deleting it), then reloads. */
  drop: (table: string) => void;
}

async function loadSorted(signal: AbortSignal): Promise<Dataset[]> {
  return sortDatasets(await listDatasets(signal));
}

export function useDatasets(): DatasetsState {
  const { data, error, loading, reload, set } = useResource(loadSorted, "datasets");
  const drop = useCallback(
    (table: string) => {
      set((list) => (list === null ? list : list.filter((d) => d.table !== table)));
      reload();
    },
    [set, reload],
  );
  return { datasets: data, error, loading, reload, drop };
}
