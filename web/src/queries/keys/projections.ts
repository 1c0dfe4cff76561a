/** Query keys of projections (`/projections*`): a series' list, one evaluation, a series' leaderboard. */
export const projectionKeys = {
  all: ["projections"] as const,
  /** The projections of one series; `symbol` `null`: none charted (a query that never runs). */
  list: (symbol: string | null, timeframe: string | null) => [...projectionKeys.all, "list", symbol, timeframe] as const,
  evaluation: (id: string | null) => [...projectionKeys.all, "evaluation", id] as const,
  leaderboard: (symbol: string | null, timeframe: string | null) => [...projectionKeys.all, "leaderboard", symbol, timeframe] as const,
};
