/**
 * What a server event changes in the query cache: the one place where live events meet cached
 * server state. The socket hooks (`useJobEvents`, `useLiveBars`) hand every event they take to
 * `applyServerEvent`, through `useServerEventHandler`.
 */
import type { QueryClient } from "@tanstack/react-query";

import type { ServerEvent, StockUpdate, StrategyApplied } from "../api/events";
import type { Dataset, FetchProgressEvent, JobStatus } from "../api/types";
import { applyEvent, isFinished } from "../features/fetch/progress";
import { datasetKeys } from "./keys/datasets";
import { jobKeys } from "./keys/jobs";
import { strategyKeys } from "./keys/strategies";

export function applyServerEvent(client: QueryClient, event: ServerEvent): void {
  if (event.type === "fetch_progress") fetchProgressed(client, event);
  else if (event.type === "stock_update") stockUpdated(client, event);
  else if (event.type === "strategy_applied") strategyApplied(client, event);
  // `indicator_calculated` changes no cached query: the chart draws its points itself (`useIndicatorLines`).
}

/**
 * A job's progress goes into its cached status at once, merged so that it never goes back. Once the
 * job has finished, its stored status is read again at once (it has the error and message no event
 * carries), and so are the datasets: even a failed or cancelled job keeps the bars it stored.
 */
function fetchProgressed(client: QueryClient, event: FetchProgressEvent): void {
  const key = jobKeys.status(event.job_id);
  client.setQueryData<JobStatus>(key, (job) => applyEvent(job ?? null, event) ?? undefined);
  if (!isFinished(event.state)) return;
  void client.invalidateQueries({ queryKey: key, exact: true });
  void client.invalidateQueries({ queryKey: datasetKeys.all });
}

/**
 * A closed minute is stored by the time its event arrives, so the list's bounds and counts and the
 * quality of the symbol's datasets are out of date. They are marked stale, to be read again when a
 * view next mounts them, not at once: the chart merges live bars itself, and reading the list again
 * every minute would move the dataset's bounds under the chart and reload it.
 */
function stockUpdated(client: QueryClient, update: StockUpdate): void {
  if (!update.closed) return;
  const listed = client.getQueryData<Dataset[]>(datasetKeys.list()) ?? [];
  void client.invalidateQueries({ queryKey: datasetKeys.list(), refetchType: "none" });
  for (const dataset of listed) {
    if (dataset.symbol !== update.symbol || dataset.adjusted !== update.adjusted) continue;
    void client.invalidateQueries({ queryKey: datasetKeys.quality(dataset.table), refetchType: "none" });
  }
}

/**
 * A run has finished (or moved on): its stored result is read again at once (the event carries only
 * the metrics), and so are its strategy's runs and the list (whose latest metrics may have changed).
 */
function strategyApplied(client: QueryClient, event: StrategyApplied): void {
  void client.invalidateQueries({ queryKey: strategyKeys.run(event.run_id) });
  void client.invalidateQueries({ queryKey: strategyKeys.runsOf(event.strategy_id) });
  void client.invalidateQueries({ queryKey: strategyKeys.list() });
}
