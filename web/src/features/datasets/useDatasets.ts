/** The dataset list from `GET /api/v1/stocks/tables`, sorted, with a reload. */
import { useCallback } from "react";

import { listDatasets } from "../../api/client";
import type { DataQuality, Dataset } from "../../api/types";
import { useResource } from "../../lib/useResource";
import { sortDatasets } from "./model";

export interface DatasetsState {
  datasets: Dataset[] | null;
  error: unknown;
  loading: boolean;
  reload: () => void;
  /** Drops a dataset from the list at once (after deleting it), then reloads. */
  drop: (table: string) => void;
  /** Puts a dataset's quality assessment in the list at once (one the server reported after the list was loaded). */
  assessed: (table: string, quality: DataQuality) => void;
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
  const assessed = useCallback(
    (table: string, quality: DataQuality) => {
      set((list) => (list === null ? list : list.map((d) => (d.table === table ? { ...d, quality } : d))));
    },
    [set],
  );
  return { datasets: data, error, loading, reload, drop, assessed };
}
