/** The dataset list from `GET /api/v1/stocks/tables`, sorted, with a reload. */
import { useCallback, useEffect, useState } from "react";

import { listDatasets } from "../../api/client";
import { isAbortError } from "../../api/problem";
import type { Dataset } from "../../api/types";
import { sortDatasets } from "./model";

export interface DatasetsState {
  datasets: Dataset[] | null;
  error: unknown;
  loading: boolean;
  reload: () => void;
  /** Drops a dataset from the list at once (after deleting it), then reloads. */
  drop: (table: string) => void;
}

export function useDatasets(): DatasetsState {
  const [datasets, setDatasets] = useState<Dataset[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [version, setVersion] = useState(0);

  useEffect(() => {
    const controller = new AbortController();
    setLoading(true);
    listDatasets(controller.signal)
      .then((list) => {
        setDatasets(sortDatasets(list));
        setError(null);
        setLoading(false);
      })
      .catch((e: unknown) => {
        if (isAbortError(e)) return;
        setError(e);
        setLoading(false);
      });
    return () => controller.abort();
  }, [version]);

  const reload = useCallback(() => setVersion((v) => v + 1), []);
  const drop = useCallback((table: string) => {
    setDatasets((list) => (list === null ? list : list.filter((d) => d.table !== table)));
    setVersion((v) => v + 1);
  }, []);
  return { datasets, error, loading, reload, drop };
}
