/** What an import did: the new dataset with a link to chart it, or the file's problems by line. */
import { Link } from "react-router-dom";

import { analysisHref } from "../../state/url";
import { rejectionLines } from "./form";
import type { ImportOutcome } from "./upload";

export function ImportOutcomeView({ outcome }: { outcome: ImportOutcome }) {
  if (outcome.kind === "rejected") {
    const { lines, more } = rejectionLines(outcome.rejection);
    return (
      <div className="problem" role="alert" data-testid="import-rejected">
        <div className="problem-title">
          The file has {outcome.rejection.problem_count.toLocaleString()} problem{outcome.rejection.problem_count === 1 ? "" : "s"}; nothing was stored.
        </div>
        <ul className="problem-extra" data-testid="import-problems">
          {lines.map((line, index) => (
            <li key={`${index}:${line}`}>{line}</li>
          ))}
        </ul>
        {more > 0 ? <div className="muted">… and {more.toLocaleString()} more.</div> : null}
      </div>
    );
  }
  const { dataset, summary } = outcome.result;
  return (
    <div className="panel" data-testid="import-done">
      <div>
        Imported <strong>{summary.bars.toLocaleString()}</strong> bars from a {summary.format.toUpperCase()} file into{" "}
        <strong data-testid="import-table">{dataset.table}</strong> ({dataset.total_records.toLocaleString()} bars stored).
      </div>
      <ul className="muted">
        <li>Timestamps: {summary.timestamps}</li>
        <li>
          Columns:{" "}
          {Object.entries(summary.columns)
            .map(([field, column]) => `${field} ← ${column}`)
            .join(", ")}
        </li>
        {summary.ignored_columns.length > 0 ? <li>Ignored columns: {summary.ignored_columns.join(", ")}</li> : null}
        {summary.duplicates_dropped > 0 ? <li>{summary.duplicates_dropped.toLocaleString()} repeated row(s) stored once</li> : null}
      </ul>
      {summary.warnings.map((warning) => (
        <div key={warning} className="warn">
          {warning}
        </div>
      ))}
      <Link className="btn btn-primary" to={analysisHref(dataset.table)} data-testid="import-open">
        Open in Analysis
      </Link>
    </div>
  );
}
