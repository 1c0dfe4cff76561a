/**
 * Runs a stored strategy on the chart's series: a backtest (with parameter overrides), a sweep over
 * a grid of its parameters, or a walk-forward optimisation. Each field says what is wrong with it as
 * it is typed; the server's refusal (an unknown series, a bad override) is shown under the button.
 */
import { useMutation } from "@tanstack/react-query";
import { type ReactNode, type SubmitEvent, useId, useState } from "react";

import { applyStrategy, startSweep, startWalkForward } from "../../api/endpoints/strategies";
import type { BacktestMode, MetricName, RunAccepted, RunKind, Strategy } from "../../api/types";
import type { TimeWindow } from "../../chart/window";
import { TIMEFRAMES } from "../../state/timeframe";
import { ProblemBox } from "../../ui/ProblemBox";
import { parseGrid, suggestedRange } from "./grid";
import { METRIC_NAMES, metricLabel } from "./metrics";
import {
  backtestRequest,
  DEFAULT_OPTIMISE,
  defaultSettings,
  type OptimiseSettings,
  optimiseProblems,
  type RunSeries,
  type RunSettings,
  settingsProblems,
  sweepRequest,
  walkForwardRequest,
} from "./runForm";

interface Props {
  strategy: Strategy;
  series: RunSeries | null;
  view: TimeWindow | null;
  onStarted: (accepted: RunAccepted, kind: RunKind) => void;
  canRun: boolean;
}

const KINDS: { kind: RunKind; label: string }[] = [
  { kind: "backtest", label: "Backtest" },
  { kind: "sweep", label: "Sweep" },
  { kind: "walk_forward", label: "Walk-forward" },
];

const isoDate = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

function Field({ label, problem, children, wide = false }: { label: string; problem?: string | undefined; children: ReactNode; wide?: boolean }) {
  return (
    <label className={wide ? "run-field run-field-wide" : "run-field"}>
      <span>{label}</span>
      {children}
      {problem !== undefined ? <span className="field-error">{problem}</span> : null}
    </label>
  );
}

export function RunForm({ strategy, series, view, onStarted, canRun }: Props) {
  const [kind, setKind] = useState<RunKind>("backtest");
  const [settings, setSettings] = useState<RunSettings>(() => defaultSettings({ timeframe: series?.timeframe ?? null }));
  const [gridTexts, setGridTexts] = useState<Record<string, string>>({});
  const [options, setOptions] = useState<OptimiseSettings>(DEFAULT_OPTIMISE);
  const id = useId();
  const specs = strategy.parameters;

  const problems = settingsProblems(settings, specs);
  const optimising = kind !== "backtest";
  const grid = parseGrid(specs, gridTexts);
  const optionProblems = optimiseProblems(options, kind === "walk_forward");
  const gridOk = !optimising || (grid.problem === null && Object.keys(grid.problems).length === 0);
  const valid = Object.keys(problems).length === 0 && gridOk && Object.keys(optionProblems).length === 0;

  const start = useMutation({
    mutationFn: async (): Promise<RunAccepted> => {
      if (series === null) throw new Error("No series is charted.");
      const base = backtestRequest(strategy.id, series, settings, specs);
      if (kind === "sweep") return startSweep(sweepRequest(base, grid.grid, options));
      if (kind === "walk_forward") return startWalkForward(walkForwardRequest(base, grid.grid, options));
      return applyStrategy(base);
    },
    onSuccess: (accepted) => onStarted(accepted, kind),
  });

  const submit = (e: SubmitEvent<HTMLFormElement>): void => {
    e.preventDefault();
    if (valid && series !== null && canRun) start.mutate();
  };
  const set = (patch: Partial<RunSettings>): void => setSettings({ ...settings, ...patch });

  return (
    <form className="run-form" onSubmit={submit} noValidate data-testid="run-form" data-kind={kind}>
      <div className="seg-group seg-group-3" role="tablist" aria-label="Run kind">
        {KINDS.map((k) => (
          <button key={k.kind} type="button" role="tab" aria-selected={kind === k.kind} className={kind === k.kind ? "tf active" : "tf"} onClick={() => setKind(k.kind)} data-testid={`run-kind-${k.kind}`}>
            {k.label}
          </button>
        ))}
      </div>
      <div className="run-series muted" data-testid="run-series">
        {series !== null ? (
          <>
            on <b className="symbol">{series.symbol}</b> <span>{series.table}</span>
          </>
        ) : (
          "Chart a dataset to run on it."
        )}
      </div>
      <div className="run-grid">
        <Field label="Timeframe" problem={problems.timeframe}>
          <select className="input input-small" value={settings.timeframe} onChange={(e) => set({ timeframe: e.target.value })} data-testid="run-timeframe">
            <option value="">auto</option>
            {TIMEFRAMES.map((tf) => (
              <option key={tf} value={tf}>
                {tf}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Mode">
          <select className="input input-small" value={settings.mode} onChange={(e) => set({ mode: e.target.value as BacktestMode })} data-testid="run-mode">
            <option value="default">default</option>
            <option value="backtesting.py">backtesting.py</option>
          </select>
        </Field>
        <Field label="From" problem={problems.from}>
          <input className="input input-small" type="date" value={settings.from} onChange={(e) => set({ from: e.target.value })} data-testid="run-from" />
        </Field>
        <Field label="To" problem={problems.to}>
          <input className="input input-small" type="date" value={settings.to} onChange={(e) => set({ to: e.target.value })} data-testid="run-to" />
        </Field>
        <div className="run-field-wide run-window">
          <button type="button" className="btn btn-small" disabled={view === null} onClick={() => view !== null && set({ from: isoDate(view.fromMs), to: isoDate(view.toMs) })}>
            Visible window
          </button>
          <button type="button" className="btn btn-small" onClick={() => set({ from: "", to: "" })}>
            Whole series
          </button>
        </div>
        <Field label="Cash" problem={problems.cash}>
          <input className="input input-small" inputMode="decimal" value={settings.cash} onChange={(e) => set({ cash: e.target.value })} data-testid="run-cash" />
        </Field>
        <Field label="Commission %" problem={problems.commissionPct}>
          <input className="input input-small" inputMode="decimal" value={settings.commissionPct} onChange={(e) => set({ commissionPct: e.target.value })} data-testid="run-commission" />
        </Field>
        <Field label="Slippage %" problem={problems.slippagePct}>
          <input className="input input-small" inputMode="decimal" value={settings.slippagePct} onChange={(e) => set({ slippagePct: e.target.value })} data-testid="run-slippage" />
        </Field>
      </div>

      {specs.length > 0 ? (
        <fieldset className="run-params">
          <legend className="muted">{optimising ? "Grid: start:stop:step or a list; empty keeps the value" : "Parameters"}</legend>
          {specs.map((spec) => {
            const range = `${spec.minimum ?? "…"} – ${spec.maximum ?? "…"}${spec.integer ? ", whole" : ""}`;
            const problem = optimising ? grid.problems[spec.name] : problems[`param:${spec.name}`];
            return (
              <div key={spec.name} className="param-row">
                <label htmlFor={`${id}-${spec.name}`} title={range}>
                  {spec.name}
                </label>
                <input
                  id={`${id}-${spec.name}`}
                  className="input input-small"
                  value={optimising ? (gridTexts[spec.name] ?? "") : (settings.params[spec.name] ?? "")}
                  placeholder={optimising ? suggestedRange(spec) : String(spec.default)}
                  aria-invalid={problem !== undefined}
                  data-testid={optimising ? "run-grid-param" : "run-param"}
                  data-param={spec.name}
                  onChange={(e) => (optimising ? setGridTexts({ ...gridTexts, [spec.name]: e.target.value }) : set({ params: { ...settings.params, [spec.name]: e.target.value } }))}
                />
                {problem !== undefined ? <span className="param-problem error-text">{problem}</span> : <span className="param-range muted">{range}</span>}
              </div>
            );
          })}
        </fieldset>
      ) : null}

      {optimising ? (
        <div className="run-grid">
          <Field label="Rank by">
            <select className="input input-small" value={options.metric} onChange={(e) => setOptions({ ...options, metric: e.target.value as MetricName })} data-testid="run-metric">
              {METRIC_NAMES.map((m) => (
                <option key={m} value={m}>
                  {metricLabel(m)}
                </option>
              ))}
            </select>
          </Field>
          {kind === "walk_forward" ? (
            <>
              <Field label="Folds" problem={optionProblems.folds}>
                <input className="input input-small" inputMode="numeric" value={options.folds} onChange={(e) => setOptions({ ...options, folds: e.target.value })} data-testid="run-folds" />
              </Field>
              <Field label="In-sample %" problem={optionProblems.inSamplePct}>
                <input className="input input-small" inputMode="decimal" value={options.inSamplePct} onChange={(e) => setOptions({ ...options, inSamplePct: e.target.value })} data-testid="run-in-sample" />
              </Field>
            </>
          ) : null}
          <div className="run-field-wide muted" data-testid="run-combinations">
            {grid.problem ?? `${grid.combinations.toLocaleString("en-US")} combinations`}
          </div>
        </div>
      ) : null}

      <div className="strategy-actions">
        <button type="submit" className="btn btn-small btn-primary" disabled={!valid || series === null || !canRun || start.isPending} data-testid="run-submit">
          {start.isPending ? "Starting…" : kind === "backtest" ? "Run backtest" : kind === "sweep" ? "Run sweep" : "Run walk-forward"}
        </button>
        {!canRun ? <span className="muted">Analysts run strategies.</span> : null}
      </div>
      <ProblemBox error={start.error} testId="run-problem" />
    </form>
  );
}
