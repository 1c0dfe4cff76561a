/** Query keys of the datasets (`/stocks/tables`) and their quality reports. */
import type { QualityWindow } from "../../api/endpoints/stocks";

export const datasetKeys = {
  /** Everything about datasets: the list and every quality report. */
  all: ["datasets"] as const,
  list: () => [...datasetKeys.all, "list"] as const,
  /** Every quality report of one dataset, whatever its window. */
  quality: (table: string) => [...datasetKeys.all, "quality", table] as const,
  /** One dataset's quality report with the gaps in `window`; `table` `null`: none selected (a query that never runs). */
  qualityReport: (table: string | null, window: QualityWindow) => [...datasetKeys.all, "quality", table, window] as const,
};
