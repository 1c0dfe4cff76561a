/** Download the dataset's bars in the visible window as Parquet, Arrow, CSV or JSON. */
import { useState } from "react";

import { API_PREFIX } from "../../api/http";
import type { TimeWindow } from "../../chart/window";

export const EXPORT_FORMATS = ["csv", "parquet", "arrow", "json"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/**
 * The export URL (the session cookie authenticates a plain link).
 *
 * @example exportHref("aapl", "csv", { fromMs: 1, toMs: 2 }) // "/api/v1/stocks/data/aapl?format=csv&from=1&to=2"
 */
export function exportHref(table: string, format: ExportFormat, window: TimeWindow | null): string {
  const query = new URLSearchParams({ format });
  if (window !== null) {
    query.set("from", String(Math.floor(window.fromMs)));
    query.set("to", String(Math.ceil(window.toMs)));
  }
  return `${API_PREFIX}/stocks/data/${encodeURIComponent(table)}?${query.toString()}`;
}

export function ExportControl({ table, window }: { table: string; window: TimeWindow | null }) {
  const [format, setFormat] = useState<ExportFormat>("csv");
  return (
    <div className="export row" data-testid="export">
      <select
        aria-label="Export format"
        value={format}
        data-testid="export-format"
        onChange={(e) => setFormat(EXPORT_FORMATS.find((f) => f === e.target.value) ?? "csv")}
      >
        {EXPORT_FORMATS.map((f) => (
          <option key={f} value={f}>
            {f === "arrow" ? "Arrow IPC" : f.toUpperCase()}
          </option>
        ))}
      </select>
      <a className="btn" href={exportHref(table, format, window)} download data-testid="export-download" title={window !== null ? "The bars in view" : "All bars"}>
        Download
      </a>
    </div>
  );
}
