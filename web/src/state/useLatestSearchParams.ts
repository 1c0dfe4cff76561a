/**
 * `useSearchParams`, except that a functional update builds on the params last asked for rather than
 * on those of the last render. A router navigation renders as a transition, so an update made before
 * it has rendered — the chart's debounced view, just after a click on the session or timeframe —
 * would otherwise start from the URL before the click and undo it.
 */
import { useCallback, useEffect, useRef } from "react";
import { createSearchParams, type SetURLSearchParams, useSearchParams } from "react-router-dom";

export function useLatestSearchParams(): [URLSearchParams, SetURLSearchParams] {
  const [params, setParams] = useSearchParams();
  const latest = useRef(params);
  useEffect(() => {
    latest.current = params;
  }, [params]);

  const update = useCallback<SetURLSearchParams>(
    (nextInit, options) => {
      const next = createSearchParams(typeof nextInit === "function" ? nextInit(new URLSearchParams(latest.current)) : nextInit);
      latest.current = next;
      setParams(next, options);
    },
    [setParams],
  );
  return [params, update];
}
