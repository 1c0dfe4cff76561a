/** A fetch job's state and per-symbol progress, with links to the new datasets when done. */
import { Link } from "react-router-dom";

import type { JobStatus } from "../../api/types";
import { formatCompact } from "../../chart/time";
import { analysisHref } from "../../state/url";
import { ProblemBox } from "../../ui/ProblemBox";
import { CancelJob } from "./CancelJob";
import { isTerminal, progressFraction } from "./form";
import { explainError } from "./progress";

const STATE_WORDS: Record<JobStatus["state"], string> = {
  queued: "Queued — waiting for a worker",
  running: "Running",
  complete: "Complete",
  failed: "Failed",
  cancelled: "Cancelled",
};

interface Props {
  job: JobStatus | null;
  error: unknown;
  /** Takes the status a cancel answered; without it there is no Cancel button. */
  onUpdate?: (status: JobStatus) => void;
  /** Whether progress arrives live over the WebSocket (otherwise it is polled). */
  live?: boolean;
}

function SymbolError({ message }: { message: string }) {
  const { words, detail } = explainError(message);
  return (
    <span className="error-text" data-testid="symbol-error" title={detail ?? undefined}>
      {words}
      {detail !== null ? <small className="muted error-detail"> ({detail})</small> : null}
    </span>
  );
}

export function JobProgress({ job, error, onUpdate, live = false }: Props) {
  if (job === null) {
    return error !== null ? <ProblemBox error={error} testId="job-problem" /> : <div className="muted">Waiting for the job…</div>;
  }
  const done = isTerminal(job.state);
  // Optional fields may be absent from the JSON, not just null: normalise them once.
  const message = job.message ?? null;
  const jobError = job.error ?? null;
  const tables = job.symbols.flatMap((s) => (typeof s.table === "string" ? [s.table] : []));
  return (
    <div className="job" data-testid="job" data-state={job.state} data-job-id={job.job_id}>
      <div className="job-head">
        <span className={`pill pill-${job.state}`} data-testid="job-state">
          {STATE_WORDS[job.state]}
        </span>
        <code className="muted">{job.job_id}</code>
        {!done ? (
          <span className="muted" data-testid="job-live" data-live={live ? "true" : "false"}>
            {live ? "live" : "polling"}
          </span>
        ) : null}
        {onUpdate !== undefined ? <CancelJob job={job} onUpdate={onUpdate} /> : null}
      </div>
      {message !== null ? <div className="muted">{message}</div> : null}
      {jobError !== null ? (
        <div data-testid="job-error">
          <SymbolError message={jobError} />
        </div>
      ) : null}
      <table className="progress-table">
        <thead>
          <tr>
            <th>Symbol</th>
            <th>Progress</th>
            <th className="num">Windows</th>
            <th className="num">Bars</th>
            <th>Result</th>
          </tr>
        </thead>
        <tbody>
          {job.symbols.map((s) => {
            const symbolError = s.error ?? null;
            const table = s.table ?? null;
            const fraction = progressFraction(s, done && symbolError === null);
            return (
              <tr key={s.symbol} data-testid="symbol-progress" data-symbol={s.symbol}>
                <td className="symbol">{s.symbol}</td>
                <td>
                  <div className="bar" role="progressbar" aria-valuemin={0} aria-valuemax={1} aria-valuenow={fraction}>
                    <div className={symbolError !== null ? "bar-fill bar-fill-bad" : "bar-fill"} style={{ width: `${(fraction * 100).toFixed(1)}%` }} />
                  </div>
                </td>
                <td className="num">
                  {s.windows_done}/{s.windows_total}
                </td>
                <td className="num">{formatCompact(s.bars)}</td>
                <td>
                  {symbolError !== null ? (
                    <SymbolError message={symbolError} />
                  ) : table !== null && done ? (
                    <Link to={analysisHref(table)} data-testid="job-dataset-link">
                      Open {table} →
                    </Link>
                  ) : (
                    <span className="muted">{job.state === "cancelled" && s.windows_done < s.windows_total ? "cancelled before it finished" : done ? "—" : "…"}</span>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {job.state === "complete" && tables.length > 0 ? (
        <div className="job-done">
          New datasets:{" "}
          {tables.map((t, i) => (
            <span key={t}>
              {i > 0 ? ", " : ""}
              <Link to={analysisHref(t)}>{t}</Link>
            </span>
          ))}
        </div>
      ) : null}
      <ProblemBox error={error} testId="job-problem" />
    </div>
  );
}
