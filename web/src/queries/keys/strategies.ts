/** Query keys of strategies (`/strategies/*`), their runs and equity curves, and screens. */
export const strategyKeys = {
  all: ["strategies"] as const,
  list: () => [...strategyKeys.all, "list"] as const,
  /** A strategy's runs (`/strategies/{id}/runs`). */
  runsOf: (id: number) => [...strategyKeys.all, "runs-of", id] as const,
  versions: (id: number) => [...strategyKeys.all, "versions", id] as const,
  /** Everything about one run: its status and result, and its equity curves. */
  run: (runId: string | null) => [...strategyKeys.all, "run", runId] as const,
  equity: (runId: string | null, points: number) => [...strategyKeys.run(runId), "equity", points] as const,
  /** A page of a run's trades. */
  trades: (runId: string, offset: number, limit: number) => [...strategyKeys.run(runId), "trades", offset, limit] as const,
};

export const screenKeys = {
  all: ["screens"] as const,
  result: (request: object) => [...screenKeys.all, request] as const,
};
