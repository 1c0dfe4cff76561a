/** The data source of a dataset, with an unmistakable mark on generated (synthetic) data. */
import type { Source } from "../api/types";

export const SYNTHETIC_NOTICE = "SYNTHETIC — generated demo data, not market data";

export function SourceBadge({ source, long = false }: { source: Source; long?: boolean }) {
  if (source === "synthetic") {
    return (
      <span className="badge badge-synthetic" data-testid="synthetic-badge" title={SYNTHETIC_NOTICE}>
        {long ? SYNTHETIC_NOTICE : "SYNTHETIC"}
      </span>
    );
  }
  if (source === "file") {
    return (
      <span className="badge badge-source" data-testid="file-badge" title="Imported from a file">
        {long ? "Imported from a file" : "file"}
      </span>
    );
  }
  return <span className="badge badge-source">{source}</span>;
}
