/** The dataset list from `GET /api/v1/stocks/tables`, sorted, with a reload. */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback } from "react";

import { listDatasets } from "../../api/endpoints/stocks";
import type { DataQuality, Dataset } from "../../api/types";
import { datasetKeys } from "../../queries/keys/datasets";
import { sortDatasets } from "./model";

export interface DatasetsState {
  datasets: Dataset[] | null;
  error: unknown;
  /** Whether the list is being read (the first time or again). */
  loading: boolean;
  reload: () => void;
  /** Drops a dataset from the list at once (after deleting it), then reloads. */
  drop: (table: string) => void;
  /** Puts a dataset's quality assessment in the list at once (one the server reported after the list was loaded). */
  assessed: (table: string, quality: DataQuality) => void;
}

export function useDatasets(): DatasetsState {
  const client = useQueryClient();
  const { data, error, isFetching, refetch } = useQuery({
    queryKey: datasetKeys.list(),
    queryFn: ({ signal }) => listDatasets(signal),
    select: sortDatasets,
  });
  const reload = useCallback(() => {
    void refetch();
  }, [refetch]);
  const drop = useCallback(
    (table: string) => {
      client.setQueryData<Dataset[]>(datasetKeys.list(), (list) => list?.filter((d) => d.table !== table));
      void client.invalidateQueries({ queryKey: datasetKeys.list() });
    },
    [client],
  );
  const assessed = useCallback(
    (table: string, quality: DataQuality) => {
      client.setQueryData<Dataset[]>(datasetKeys.list(), (list) => list?.map((d) => (d.table === table ? { ...d, quality } : d)));
    },
    [client],
  );
  return { datasets: data ?? null, error, loading: isFetching, reload, drop, assessed };
}
