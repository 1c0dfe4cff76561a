/** Loads something once per `key` (and on `reload()`), aborting a load that is no longer wanted. */
import { useCallback, useEffect, useState } from "react";

import { isAbortError } from "../api/problem";

export interface Resource<T> {
  data: T | null;
  error: unknown;
  loading: boolean;
  reload: () => void;
  /** Replaces the data at once (after a change the server confirmed). */
  set: (update: (data: T | null) => T | null) => void;
}

export function useResource<T>(load: (signal: AbortSignal) => Promise<T>, key: string): Resource<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [version, setVersion] = useState(0);

  useEffect(() => {
    const controller = new AbortController();
    setLoading(true);
    load(controller.signal)
      .then((value) => {
        setData(value);
        setError(null);
        setLoading(false);
      })
      .catch((e: unknown) => {
        if (isAbortError(e) || controller.signal.aborted) return;
        setError(e);
        setLoading(false);
      });
    return () => controller.abort();
    // `load` is a fresh closure each render; `key` says when it asks for something else.
  }, [key, version]);

  const reload = useCallback(() => setVersion((v) => v + 1), []);
  const set = useCallback((update: (data: T | null) => T | null) => setData(update), []);
  return { data, error, loading, reload, set };
}
