/**
 * Follows the run the page shows (`useRun`: polls and events) and hands its state to the page, which
 * marks a complete backtest's trades on the chart and shows the results under it. A component
 * rather than a hook so that the page loads none of it before a run is shown.
 */
import { useEffect } from "react";

import { type RunState, useRun } from "./useRun";

interface Props {
  runId: string;
  onState: (runId: string, state: RunState) => void;
}

export function RunFollower({ runId, onState }: Props) {
  const { run, error, live } = useRun(runId);
  useEffect(() => {
    onState(runId, { run, error, live });
  }, [runId, run, error, live, onState]);
  return null;
}
