/**
 * A sweep's result as a heatmap of one metric (`heatmap.ts`): two parameters as a grid of coloured
 * cells, one as a single row; with more, two are picked and the rest taken at their best per cell.
 * A cell's title gives its parameters and value; clicking it backtests those parameters (`onPick`).
 */
import { useState } from "react";

import type { SweepResult } from "../../api/types";
import { buildHeatmap, defaultAxes, heatColor, heatPosition, sweepParams } from "./heatmap";
import { formatMetric, METRIC_NAMES, metricLabel } from "./metrics";

interface Props {
  sweep: SweepResult;
  /** Backtest a cell's parameters; absent when the user may not run. */
  onPick?: ((params: Record<string, number>) => void) | undefined;
}

const paramsText = (params: Record<string, number>): string =>
  Object.entries(params)
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");

export function SweepHeatmap({ sweep, onPick }: Props) {
  const params = sweepParams(sweep);
  const initial = defaultAxes(sweep);
  const [metric, setMetric] = useState<string>(sweep.metric);
  const [x, setX] = useState<string | null>(initial.x);
  const [y, setY] = useState<string | null>(initial.y);
  if (x === null) return <div className="muted pad-small">The sweep has no rows.</div>;
  const map = buildHeatmap(sweep, metric, x, y);
  const best = sweep.rows[0] ?? null;

  return (
    <div className="sweep" data-testid="sweep-heatmap" data-metric={metric} data-x={map.xParam} data-y={map.yParam ?? ""}>
      <div className="sweep-controls">
        <label>
          <span className="muted">Metric </span>
          <select className="input input-small" value={metric} onChange={(e) => setMetric(e.target.value)} data-testid="sweep-metric">
            {METRIC_NAMES.map((m) => (
              <option key={m} value={m}>
                {metricLabel(m)}
              </option>
            ))}
          </select>
        </label>
        {params.length > 1 ? (
          <>
            <label>
              <span className="muted">Across </span>
              <select className="input input-small" value={x} onChange={(e) => setX(e.target.value)} data-testid="sweep-x">
                {params.map((p) => (
                  <option key={p} value={p}>
                    {p}
                  </option>
                ))}
              </select>
            </label>
            <label>
              <span className="muted">Down </span>
              <select className="input input-small" value={y ?? ""} onChange={(e) => setY(e.target.value === "" ? null : e.target.value)} data-testid="sweep-y">
                <option value="">—</option>
                {params
                  .filter((p) => p !== x)
                  .map((p) => (
                    <option key={p} value={p}>
                      {p}
                    </option>
                  ))}
              </select>
            </label>
          </>
        ) : null}
        {map.atBest.length > 0 ? <span className="muted">{map.atBest.join(", ")} at their best per cell</span> : null}
        {best !== null ? (
          <span className="muted">
            best by {metricLabel(sweep.metric)}: {paramsText(best.params)} → {formatMetric(sweep.metric, best.metrics[sweep.metric])}
          </span>
        ) : null}
      </div>
      <div className="heatmap" style={{ gridTemplateColumns: `auto repeat(${map.xs.length}, minmax(44px, 1fr))` }} role="grid" aria-label={`${metricLabel(metric)} by ${map.xParam}${map.yParam !== null ? ` and ${map.yParam}` : ""}`}>
        <div className="heat-corner muted">{map.yParam !== null ? `${map.yParam} ↓ ${map.xParam} →` : `${map.xParam} →`}</div>
        {map.xs.map((vx) => (
          <div key={vx} className="heat-head">
            {vx}
          </div>
        ))}
        {map.cells.map((row, r) => (
          <div key={map.ys[r] ?? "row"} className="heat-row" role="row">
            <div className="heat-head heat-row-head">{map.yParam !== null ? map.ys[r] : metricLabel(metric)}</div>
            {row.map((cell) => {
              const position = heatPosition(map, cell.value);
              const title = cell.params !== null ? `${paramsText(cell.params)}\n${metricLabel(metric)}: ${formatMetric(metric, cell.value)}` : "not run";
              return (
                <button
                  key={`${cell.x}|${cell.y ?? ""}`}
                  type="button"
                  role="gridcell"
                  className="heat-cell"
                  style={{ background: heatColor(position) }}
                  title={title}
                  disabled={onPick === undefined || cell.params === null}
                  onClick={() => cell.params !== null && onPick?.(cell.params)}
                  data-testid="heat-cell"
                  data-x={cell.x}
                  data-y={cell.y ?? ""}
                  data-value={cell.value ?? ""}
                >
                  {formatMetric(metric, cell.value)}
                </button>
              );
            })}
          </div>
        ))}
      </div>
      {onPick !== undefined ? <div className="muted small">Click a cell to backtest its parameters.</div> : null}
    </div>
  );
}
