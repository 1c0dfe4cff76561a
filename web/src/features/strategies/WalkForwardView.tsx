/**
 * A walk-forward run: per fold, the parameters chosen in sample and the ranking metric in sample
 * and out of sample, side by side as bars on one scale, with the means of both.
 */
import type { WalkForwardResult } from "../../api/types";
import { formatInstantEt } from "../../chart/time";
import { formatMetric, metricLabel } from "./metrics";

interface Props {
  result: WalkForwardResult;
}

const day = (iso: string): string => iso.slice(0, 10);

/** A bar's width (%) and side for a value on a scale reaching `extent` either way. */
function bar(value: number | null | undefined, extent: number): { width: number; negative: boolean } {
  if (value === null || value === undefined || !Number.isFinite(value) || extent <= 0) return { width: 0, negative: false };
  return { width: Math.min(100, (Math.abs(value) / extent) * 100), negative: value < 0 };
}

/** A value as a bar from the middle: right of it above zero, left of it below. */
function Bar({ value, extent, kind }: { value: number | null | undefined; extent: number; kind: "in" | "out" }) {
  const { width, negative } = bar(value, extent);
  const half = `${width / 2}%`;
  return (
    <div className="wf-bar">
      <div className={`wf-bar-fill wf-${kind}`} style={negative ? { right: "50%", width: half } : { left: "50%", width: half }} />
    </div>
  );
}

export function WalkForwardView({ result }: Props) {
  const metric = result.metric;
  const values = result.folds.flatMap((f) => [f.in_sample[metric], f.out_of_sample[metric]]).filter((v): v is number => typeof v === "number" && Number.isFinite(v));
  const extent = values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  return (
    <div className="walk-forward" data-testid="walk-forward" data-folds={result.folds.length}>
      <div className="wf-summary">
        <span>
          {metricLabel(metric)} in sample (mean): <b data-testid="wf-in-mean">{formatMetric(metric, result.in_sample_mean)}</b>
        </span>
        <span>
          out of sample (mean): <b data-testid="wf-out-mean">{formatMetric(metric, result.out_of_sample_mean)}</b>
        </span>
        <span className="wf-key">
          <span className="wf-swatch wf-in" /> in sample <span className="wf-swatch wf-out" /> out of sample
        </span>
      </div>
      <div className="table-wrap">
        <table className="table table-dense">
          <thead>
            <tr>
              <th>Fold</th>
              <th>In sample</th>
              <th>Out of sample</th>
              <th>Chosen</th>
              <th className="num">In</th>
              <th className="num">Out</th>
              <th>{metricLabel(metric)}</th>
            </tr>
          </thead>
          <tbody>
            {result.folds.map((fold, i) => (
              <tr key={fold.out_of_sample_from} data-testid="wf-fold">
                <td>{i + 1}</td>
                <td className="nowrap" title={`${formatInstantEt(Date.parse(fold.in_sample_from))} – ${formatInstantEt(Date.parse(fold.in_sample_to))}`}>
                  {day(fold.in_sample_from)} – {day(fold.in_sample_to)}
                </td>
                <td className="nowrap">
                  {day(fold.out_of_sample_from)} – {day(fold.out_of_sample_to)}
                </td>
                <td>
                  <code>
                    {Object.entries(fold.params)
                      .map(([k, v]) => `${k}=${v}`)
                      .join(" ")}
                  </code>
                </td>
                <td className="num">{formatMetric(metric, fold.in_sample[metric])}</td>
                <td className="num">{formatMetric(metric, fold.out_of_sample[metric])}</td>
                <td className="wf-bars">
                  <Bar value={fold.in_sample[metric]} extent={extent} kind="in" />
                  <Bar value={fold.out_of_sample[metric]} extent={extent} kind="out" />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
