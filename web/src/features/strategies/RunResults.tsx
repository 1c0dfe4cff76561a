/**
 * A strategy run's results, under the chart: its state while it runs (a sweep's or walk-forward's
 * progress, and a Cancel button: `RunProgress`); once complete, for a backtest
 * the look-ahead audit's verdict, the metrics, the equity curve and drawdown, and the trades (which
 * the price chart marks); for a sweep its heatmap; for a walk-forward run its folds. Another run of
 * the same strategy can be picked, or compared side by side (metrics of both, both equity curves).
 */
import { skipToken, useMutation, useQuery } from "@tanstack/react-query";

import { applyStrategy, listRuns } from "../../api/endpoints/strategies";
import type { BacktestRequest, LookAheadAudit, Metrics, RunAccepted, RunKind, StrategyRun, StrategyRunSummary } from "../../api/types";
import { formatBarTime, formatInstantEt } from "../../chart/time";
import { strategyKeys } from "../../queries/keys/strategies";
import { bucketMs as widthOf, DAY_MS } from "../../state/timeframe";
import { ProblemBox } from "../../ui/ProblemBox";
import { CURVE_COLORS, EquityChart, type EquityCurveInput } from "./EquityChart";
import { better, formatMetric, metricLabel, metricRows } from "./metrics";
import { RunProgress } from "./RunProgress";
import { failureTitle } from "./progress";
import { SweepHeatmap } from "./SweepHeatmap";
import { TradesTable } from "./TradesTable";
import { type RunState, useEquity, useRun } from "./useRun";
import { WalkForwardView } from "./WalkForwardView";

interface Props {
  /** The run shown (followed by the page, which also marks its trades on the chart). */
  state: RunState;
  runId: string;
  compareId: string | null;
  onSelect: (runId: string) => void;
  onCompare: (runId: string | null) => void;
  /** A run started from here (a sweep cell's parameters backtested). */
  onStarted: (accepted: RunAccepted, kind: RunKind) => void;
  canRun: boolean;
}

const KIND_LABEL: Record<RunKind, string> = { backtest: "backtest", sweep: "sweep", walk_forward: "walk-forward" };

const runLabel = (r: Pick<StrategyRunSummary, "run_id" | "kind" | "strategy_version" | "created_at" | "symbol">): string =>
  `${formatInstantEt(Date.parse(r.created_at))} · ${KIND_LABEL[r.kind]} · v${r.strategy_version}${r.symbol !== null ? ` · ${r.symbol}` : ""}`;

function runBucketMs(run: StrategyRun): number {
  return widthOf(run.pin?.timeframe ?? run.timeframe ?? null) ?? DAY_MS;
}

function AuditFlag({ audit, bucket }: { audit: LookAheadAudit | null | undefined; bucket: number }) {
  if (audit === null || audit === undefined) return null;
  if (!audit.uses_future_data) {
    return (
      <div className="audit audit-ok" data-testid="audit-flag" data-uses-future-data="false">
        No look-ahead: the signals held when replayed on {audit.cut_points.length} shorter prefixes of the data.
      </div>
    );
  }
  const at = audit.first_offending_time ?? null;
  const when = at !== null ? formatBarTime(Math.floor(Date.parse(at) / 1000), bucket) : null;
  return (
    <div className="audit audit-flag" role="alert" data-testid="audit-flag" data-uses-future-data="true" data-first-bar={audit.first_offending_bar ?? ""}>
      <b>Uses future data.</b> {audit.rule != null ? <code>{audit.rule}</code> : "A rule"} changed at bar {audit.first_offending_bar ?? "?"}
      {when !== null ? ` (${when})` : ""} when later bars were cut off: its results are not achievable.
    </div>
  );
}

function MetricsTable({ a, b, labels }: { a: Metrics; b: Metrics | null; labels: [string, string] }) {
  const names = metricRows(b !== null ? { ...a, ...b } : a);
  return (
    <table className="table table-dense metrics" data-testid="run-metrics">
      {b !== null ? (
        <thead>
          <tr>
            <th>Metric</th>
            <th className="num" style={{ color: CURVE_COLORS[0] }}>
              {labels[0]}
            </th>
            <th className="num" style={{ color: CURVE_COLORS[1] }}>
              {labels[1]}
            </th>
          </tr>
        </thead>
      ) : null}
      <tbody>
        {names.map((name) => {
          const winner = b !== null ? better(name, a[name], b[name]) : null;
          return (
            <tr key={name} data-metric={name}>
              <td className="muted">{metricLabel(name)}</td>
              <td className={winner === "a" ? "num metric-better" : "num"} data-testid="metric-value">
                {formatMetric(name, a[name])}
              </td>
              {b !== null ? <td className={winner === "b" ? "num metric-better" : "num"}>{formatMetric(name, b[name])}</td> : null}
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** The request of a sweep or walk-forward run, as a backtest of `params`. */
function backtestOf(run: StrategyRun, params: Record<string, number>): BacktestRequest {
  const optimising = new Set(["grid", "metric", "folds", "in_sample_ratio"]);
  const rest = Object.fromEntries(Object.entries(run.request).filter(([key]) => !optimising.has(key)));
  return { ...(rest as unknown as BacktestRequest), strategy: run.strategy_id, strategy_version: run.strategy_version, params };
}

export function RunResults({ state, runId, compareId, onSelect, onCompare, onStarted, canRun }: Props) {
  const { run, error, live } = state;
  const other = useRun(compareId, false);
  const { curve } = useEquity(run);
  const { curve: otherCurve } = useEquity(other.run);
  const strategyId = run?.strategy_id ?? null;
  const runs = useQuery({
    queryKey: strategyKeys.runsOf(strategyId ?? 0),
    queryFn: strategyId !== null ? ({ signal }) => listRuns(strategyId, signal) : skipToken,
  });
  const pick = useMutation({
    mutationFn: (params: Record<string, number>) => {
      if (run === null) throw new Error("No run.");
      return applyStrategy(backtestOf(run, params));
    },
    onSuccess: (accepted) => onStarted(accepted, "backtest"),
  });

  if (run === null) {
    return (
      <div className="run-results pad-small" data-testid="run-results" data-status="">
        {error !== null ? <ProblemBox error={error} testId="run-load-problem" /> : <span className="muted">Loading run {runId}…</span>}
      </div>
    );
  }
  const bucket = runBucketMs(run);
  const comparable = (runs.data ?? []).filter((r) => r.run_id !== run.run_id && r.kind === "backtest" && r.status === "complete");
  const compared = compareId !== null && other.run !== null && other.run.status === "complete" ? other.run : null;
  const curves: EquityCurveInput[] = [];
  if (curve !== null) curves.push({ label: compared !== null ? "A" : run.strategy_name, color: CURVE_COLORS[0], points: curve.points });
  if (compared !== null && otherCurve !== null) curves.push({ label: "B", color: CURVE_COLORS[1], points: otherCurve.points });

  return (
    <div className="run-results" data-testid="run-results" data-run={run.run_id} data-kind={run.kind} data-status={run.status}>
      <div className="run-head">
        <b>{run.strategy_name}</b>
        <span className="muted">v{run.strategy_version}</span>
        <span className="muted">{KIND_LABEL[run.kind]}</span>
        {run.pin != null ? (
          <span className="muted">
            {run.pin.symbol} · {run.pin.timeframe} · {run.pin.bars.toLocaleString("en-US")} bars
          </span>
        ) : run.symbol != null ? (
          <span className="muted">
            {run.symbol} · {run.timeframe ?? ""}
          </span>
        ) : null}
        <span className={`pill pill-${run.status}`} data-testid="run-status">
          {run.status}
        </span>
        {!live && (run.status === "queued" || run.status === "running") ? <span className="muted">(polling)</span> : null}
        {Object.keys(run.params ?? {}).length > 0 ? (
          <code className="muted run-values">
            {Object.entries(run.params ?? {})
              .map(([k, v]) => `${k}=${v}`)
              .join(" ")}
          </code>
        ) : null}
        <span className="run-pickers">
          {runs.data !== undefined && runs.data.length > 1 ? (
            <select className="input input-small" value={run.run_id} onChange={(e) => onSelect(e.target.value)} aria-label="Show another run" data-testid="run-pick">
              {runs.data.map((r) => (
                <option key={r.run_id} value={r.run_id}>
                  {runLabel(r)}
                </option>
              ))}
            </select>
          ) : null}
          {run.kind === "backtest" && comparable.length > 0 ? (
            <select className="input input-small" value={compareId ?? ""} onChange={(e) => onCompare(e.target.value === "" ? null : e.target.value)} aria-label="Compare with" data-testid="run-compare">
              <option value="">compare with…</option>
              {comparable.map((r) => (
                <option key={r.run_id} value={r.run_id}>
                  {runLabel(r)}
                </option>
              ))}
            </select>
          ) : null}
        </span>
      </div>

      {run.status === "queued" || run.status === "running" ? <RunProgress run={run} live={live} /> : null}
      {run.status === "failed" ? (
        <div className="problem" role="alert" data-testid="run-error">
          <div className="problem-title">{failureTitle(run.error)}</div>
          <div className="problem-detail">{run.error ?? "no reason given"}</div>
        </div>
      ) : null}

      {run.status === "complete" && run.kind === "backtest" ? (
        <div className="run-body">
          <div className="run-side">
            <AuditFlag audit={run.audit} bucket={bucket} />
            <MetricsTable a={run.metrics ?? {}} b={compared?.metrics ?? null} labels={["A", "B"]} />
            {compared !== null ? (
              <div className="muted small">
                B: {compared.strategy_name} v{compared.strategy_version}{" "}
                <button type="button" className="icon-btn" onClick={() => onCompare(null)} aria-label="Stop comparing">
                  ×
                </button>
              </div>
            ) : null}
          </div>
          <div className="run-main">
            {curves.length > 0 ? <EquityChart curves={curves} bucketMs={bucket} /> : <div className="muted pad-small">Loading the equity curve…</div>}
            <TradesTable key={run.run_id} run={run} bucket={bucket} />
          </div>
        </div>
      ) : null}

      {run.status === "complete" && run.kind === "sweep" && run.sweep != null ? (
        <SweepHeatmap sweep={run.sweep} onPick={canRun ? (params) => pick.mutate(params) : undefined} />
      ) : null}
      {run.status === "complete" && run.kind === "walk_forward" && run.walk_forward != null ? <WalkForwardView result={run.walk_forward} /> : null}
      <ProblemBox error={pick.error} testId="run-pick-problem" />
    </div>
  );
}
