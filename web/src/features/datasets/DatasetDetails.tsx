/** The Analysis page's right pane: facts about the selected dataset, and deleting it. */
import { type ReactNode, useState } from "react";

import { deleteDataset } from "../../api/endpoints/stocks";
import type { DataQuality, Dataset } from "../../api/types";
import { formatCompact, formatInstantEt, MARKET_TZ_LABEL } from "../../chart/time";
import type { TimeWindow } from "../../chart/window";
import { ProblemBox } from "../../ui/ProblemBox";
import { SourceBadge } from "../../ui/SourceBadge";
import { ExportControl } from "./ExportControl";
import { timespanLabel } from "./model";
import { QualityFacts } from "./QualityFacts";

interface Props {
  dataset: Dataset;
  /** The bar width the server used for the current view (`X-K2Q-Bucket`). */
  bucket: string | null;
  /** The timeframe chosen: one of the ladder, or `auto`. */
  timeframe: string;
  /** The timeframe the server used or picked (`X-K2Q-Timeframe`). */
  served: string | null;
  session: string;
  /** The visible window (what Download exports). */
  view: TimeWindow | null;
  bars: number;
  truncated: boolean;
  /** Called after deleting the dataset; `null` when the user may not delete (only admins may). */
  onDeleted: ((table: string) => void) | null;
  /** Called after re-assessing the data quality; `null` when the user may not (viewers). */
  onAssessed?: ((quality: DataQuality) => void) | null;
}

function when(value: string | null): string {
  if (value === null) return "—";
  return value.replace("T", " ").replace(/(\.\d+)?(Z|\+00:00)$/, " UTC");
}

export function DatasetDetails({ dataset, bucket, timeframe, served, session, view, bars, truncated, onDeleted, onAssessed = null }: Props) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const remove = async (): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      await deleteDataset(dataset.table);
      setConfirming(false);
      onDeleted?.(dataset.table);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const rows: [string, ReactNode][] = [
    ["Symbol", <strong key="s">{dataset.symbol}</strong>],
    ["Table", <code key="t">{dataset.table}</code>],
    ["Source", <SourceBadge key="src" source={dataset.source} />],
    ["Bars", timespanLabel(dataset)],
    ["Prices", dataset.adjusted ? "split-adjusted" : "raw (not adjusted)"],
    ["Records", formatCompact(dataset.total_records)],
    [
      "Date range",
      <span key="dr">
        <span className="nowrap">{dataset.date_range.from}</span> → <span className="nowrap">{dataset.date_range.to}</span>
      </span>,
    ],
    ["First bar", when(dataset.first_bar)],
    ["Last bar", when(dataset.last_bar)],
    ["Updated", when(dataset.updated_at)],
  ];

  return (
    <div className="details" data-testid="dataset-details" data-table={dataset.table}>
      {dataset.source === "synthetic" ? (
        <div className="synthetic-banner">
          <SourceBadge source="synthetic" long />
        </div>
      ) : null}
      <h2 className="details-title">
        {dataset.symbol} <span className="muted">{timespanLabel(dataset)}</span>
      </h2>
      <dl className="facts">
        {rows.map(([k, v]) => (
          <div className="fact" key={k}>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </div>
        ))}
      </dl>

      <h3 className="section-title">Current view</h3>
      <dl className="facts">
        <div className="fact">
          <dt>Timeframe</dt>
          <dd data-testid="picked-timeframe" data-timeframe={served ?? ""}>
            {timeframe === "auto" ? (
              <>
                {served ?? "…"} <span className="muted">(auto: the finest that fits)</span>
              </>
            ) : (
              timeframe
            )}
          </dd>
        </div>
        <div className="fact">
          <dt>Bucket used</dt>
          <dd data-testid="bucket-used">
            {bucket ?? "—"}
            {bucket !== null && served !== null && bucket !== served ? <span className="muted"> (wider: too many bars for the view)</span> : null}
          </dd>
        </div>
        <div className="fact">
          <dt>Session</dt>
          <dd>{session === "regular" ? "regular (09:30–16:00 ET)" : "extended (04:00–20:00 ET)"}</dd>
        </div>
        <div className="fact">
          <dt>Bars shown</dt>
          <dd>
            {formatCompact(bars)}
            {truncated ? <span className="warn"> truncated</span> : null}
          </dd>
        </div>
        <div className="fact">
          <dt>Times</dt>
          <dd>{MARKET_TZ_LABEL} (America/New_York)</dd>
        </div>
        <div className="fact">
          <dt>In view</dt>
          <dd data-testid="view-window">
            {view !== null ? (
              <>
                <span className="nowrap">{formatInstantEt(view.fromMs)}</span> → <span className="nowrap">{formatInstantEt(view.toMs)}</span>
              </>
            ) : (
              "—"
            )}
          </dd>
        </div>
      </dl>

      <QualityFacts dataset={dataset} onAssessed={onAssessed} />

      <h3 className="section-title">Download</h3>
      <ExportControl table={dataset.table} window={view} />

      {onDeleted !== null ? (
      <div className="danger-zone">
        {confirming ? (
          <div className="confirm">
            <span>
              Delete <code>{dataset.table}</code> and its {formatCompact(dataset.total_records)} bars?
            </span>
            <div className="row">
              <button className="btn btn-danger" onClick={() => void remove()} disabled={busy} data-testid="confirm-delete">
                {busy ? "Deleting…" : "Delete"}
              </button>
              <button className="btn" onClick={() => setConfirming(false)} disabled={busy}>
                Cancel
              </button>
            </div>
          </div>
        ) : (
          <button className="btn btn-danger-outline" onClick={() => setConfirming(true)} data-testid="delete-dataset">
            Delete dataset…
          </button>
        )}
        <ProblemBox error={error} testId="delete-problem" />
      </div>
      ) : null}
    </div>
  );
}
