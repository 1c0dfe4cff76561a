/** The details pane's data-quality section: coverage, gaps, bad bars, and re-assessing. */
import { useState } from "react";

import { assessTableQuality } from "../../api/endpoints/stocks";
import type { DataQuality, Dataset } from "../../api/types";
import { formatCompact } from "../../chart/time";
import { ProblemBox } from "../../ui/ProblemBox";
import { basisWords, formatCoverage, gapLabel, qualityTone } from "./quality";

interface Props {
  dataset: Dataset;
  /** Called after a re-assessment; `null` when the user may not re-assess (viewers). */
  onAssessed: ((quality: DataQuality) => void) | null;
}

function when(value: string): string {
  return value.replace("T", " ").replace(/(\.\d+)?(Z|\+00:00)$/, " UTC");
}

export function QualityFacts({ dataset, onAssessed }: Props) {
  const [fresh, setFresh] = useState<{ table: string; quality: DataQuality } | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const q = fresh !== null && fresh.table === dataset.table ? fresh.quality : (dataset.quality ?? null);

  const assess = async (): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      const quality = await assessTableQuality(dataset.table);
      setFresh({ table: dataset.table, quality });
      onAssessed?.(quality);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const rows: [string, string][] =
    q === null
      ? []
      : [
          ["Coverage", `${formatCoverage(q.coverage)} of ${formatCompact(q.expected)} ${basisWords(q)}`],
          ["Stored bars", formatCompact(q.bars)],
          ["Missing", q.missing > 0 ? `${formatCompact(q.missing)} in ${formatCompact(q.gaps)} gap${q.gaps === 1 ? "" : "s"}` : "none"],
          ["Duplicates dropped", q.duplicates_dropped === null ? "—" : formatCompact(q.duplicates_dropped)],
          ["Zero volume", q.zero_volume_bars > 0 ? `${formatCompact(q.zero_volume_bars)} bars in ${formatCompact(q.zero_volume_runs)} runs` : "none"],
          [
            "OHLC errors",
            q.ohlc_violations > 0
              ? `${formatCompact(q.ohlc_violations)} bars (high < body ${q.ohlc.high_below_body}, low > body ${q.ohlc.low_above_body}, high < low ${q.ohlc.high_below_low}, price ≤ 0 ${q.ohlc.non_positive})`
              : "none",
          ],
          ["Assessed", when(q.assessed_at)],
        ];

  return (
    <div className="quality" data-testid="quality" data-tone={qualityTone(q)}>
      <h3 className="section-title">Data quality</h3>
      {q === null ? <div className="muted">Not assessed yet.</div> : null}
      <dl className="facts">
        {rows.map(([k, v]) => (
          <div className="fact" key={k}>
            <dt>{k}</dt>
            <dd data-testid={k === "Coverage" ? "quality-coverage" : undefined}>{v}</dd>
          </div>
        ))}
      </dl>
      {q !== null && q.largest_gaps.length > 0 ? (
        <>
          <div className="muted small">Largest gaps (shaded on the chart):</div>
          <ol className="gap-list" data-testid="largest-gaps">
            {q.largest_gaps.map((g) => (
              <li key={g.start}>{gapLabel(g)}</li>
            ))}
          </ol>
        </>
      ) : null}
      {onAssessed !== null ? (
        <button className="btn" onClick={() => void assess()} disabled={busy} data-testid="assess-quality">
          {busy ? "Assessing…" : q === null ? "Assess" : "Re-assess"}
        </button>
      ) : null}
      <ProblemBox error={error} testId="quality-problem" />
    </div>
  );
}
