/** Query keys of the indicator catalog (`/indicators/list`). */
export const indicatorKeys = {
  all: ["indicators"] as const,
  list: () => [...indicatorKeys.all, "list"] as const,
};
