/**
 * Analysis: datasets, timeframe and session on the left, with the selected dataset's details and
 * downloads under them; the chart in the middle with the bars in view listed under it; the AI
 * assistant on the right. The dataset, timeframe, session, indicators and visible window live in the
 * URL query.
 *
 * Strategies (written, saved and run in the left pane) show their runs under the chart, a
 * backtest's trades marked on it; screens are under the chart too. The run shown (and one compared
 * with it) is in the URL; the code for all of it loads when first shown.
 *
 * Projections (made, listed and evaluated in the left pane) are drawn on the chart past its last bar;
 * the ones drawn are in the URL, and their code too loads when first wanted.
 *
 * The assistant (a chunk of its own, loaded with the page) opens what its messages point at on the
 * chart: through the URL (series, trades, projections, indicators) and as evidence drawn over the
 * chart (a marker, a price line, a span); a strategy it saved opens in the Strategies section.
 */
import { lazy, Suspense, useCallback, useEffect, useMemo, useRef, useState, type PointerEvent as ReactPointerEvent } from "react";
import type { UTCTimestamp } from "lightweight-charts";
import { Link } from "react-router-dom";

import type { Dataset, RunAccepted, Timeframe, TradingSession } from "../api/types";
import { ChartView } from "../chart/ChartView";
import { DataGrid } from "../chart/DataGrid";
import { centredOn } from "../chart/grid";
import type { RejectedIndicator } from "../chart/indicators";
import { indicatorSelection } from "../chart/indicatorSelection";
import { shortfallNotes } from "../chart/indicatorShortfall";
import { LiveBadge } from "../chart/LiveBadge";
import { SessionToggle } from "../chart/SessionToggle";
import { TimeframeBar } from "../chart/TimeframeBar";
import { useChart } from "../chart/useChart";
import { useChartSlices } from "../chart/useChartSlices";
import { useCrosshairBar } from "../chart/useCrosshairBar";
import { useLiveBars } from "../chart/useLiveBars";
import { useGapBands } from "../chart/useGapBands";
import { useIndicatorLines } from "../chart/useIndicatorLines";
import { useTradeMarkers } from "../chart/useTradeMarkers";
import { useVisibleRange } from "../chart/useVisibleRange";
import type { TimeWindow } from "../chart/window";
import type { ChartTarget, Evidence } from "../features/assistant/references";
import { useAuth } from "../features/auth/context";
import { DatasetDetails } from "../features/datasets/DatasetDetails";
import { GapBadge } from "../features/datasets/GapBadge";
import { DatasetList } from "../features/datasets/DatasetList";
import { IndicatorPicker } from "../features/indicators/IndicatorPicker";
import { datasetBounds } from "../features/datasets/model";
import { useDatasets } from "../features/datasets/useDatasets";
import type { RunSeries } from "../features/strategies/runForm";
import type { RunState } from "../features/strategies/useRun";
import type { ActiveIndicator } from "../state/indicators";
import { bucketMs, datasetBarMs, DAY_MS, isTimeframe, nativeTimeframe, TIMEFRAMES, timeframeMs } from "../state/timeframe";
import { EMPTY_QUERY, MAX_PROJECTIONS, parseAnalysisQuery, serializeAnalysisQuery, type TimeframeChoice } from "../state/url";
import { useLatestSearchParams } from "../state/useLatestSearchParams";
import { ProblemBox } from "../ui/ProblemBox";
import { SourceBadge } from "../ui/SourceBadge";

const workbench = () => import("../features/strategies/StrategyWorkbench");
const StrategiesPanel = lazy(() => workbench().then((m) => ({ default: m.StrategiesPanel })));
const RunResults = lazy(() => workbench().then((m) => ({ default: m.RunResults })));
const ScreenPanel = lazy(() => workbench().then((m) => ({ default: m.ScreenPanel })));
const RunFollower = lazy(() => workbench().then((m) => ({ default: m.RunFollower })));
const NO_RUN: RunState = { run: null, error: null, live: false };
const projectionsChunk = () => import("../features/projections/ProjectionsWorkbench");
const ProjectionsPanel = lazy(() => projectionsChunk().then((m) => ({ default: m.ProjectionsPanel })));
const ProjectionLayer = lazy(() => projectionsChunk().then((m) => ({ default: m.ProjectionLayer })));
const NO_PROJECTIONS: readonly string[] = [];
const assistantChunk = () => import("../features/assistant/AssistantWorkbench");
const AssistantPane = lazy(() => assistantChunk().then((m) => ({ default: m.AssistantPane })));
const EvidenceLayer = lazy(() => assistantChunk().then((m) => ({ default: m.EvidenceLayer })));

/** What the pane under the chart shows. */
type Under = "bars" | "run" | "screen";

/** The grid's share of the middle pane, within these bounds (px) when resized. */
const GRID_MIN_PX = 80;
const CHART_MIN_PX = 160;

export default function Analysis() {
  const [params, setParams] = useLatestSearchParams();
  const query = useMemo(() => parseAnalysisQuery(params), [params]);
  const { datasets, error, loading, drop, reload, assessed } = useDatasets();
  const { can } = useAuth();

  const selected: Dataset | null = datasets?.find((d) => d.table === query.table) ?? null;
  const choice: TimeframeChoice = query.tf ?? (selected !== null ? nativeTimeframe(selected) : "1d");
  const timeframe = choice === "auto" ? null : choice;
  const bounds = useMemo(() => (selected !== null ? datasetBounds(selected) : null), [selected]);
  const intraday = selected === null || datasetBarMs(selected) < DAY_MS;

  // With no dataset in the URL, open the first one.
  const first = datasets?.[0] ?? null;
  useEffect(() => {
    if (query.table === null && first !== null) {
      setParams(
        serializeAnalysisQuery({
          ...EMPTY_QUERY,
          table: first.table,
          tf: query.tf ?? nativeTimeframe(first),
          session: query.session,
          indicators: query.indicators,
        }),
        { replace: true },
      );
    }
  }, [first, query.table, query.tf, query.session, query.indicators, setParams]);

  const [container, setContainer] = useState<HTMLDivElement | null>(null);
  const handles = useChart(container);
  const hovered = useCrosshairBar(handles);
  const range = useVisibleRange(handles);

  const onViewChange = useCallback(
    (view: TimeWindow) => {
      setParams(
        (prev) => serializeAnalysisQuery({ ...parseAnalysisQuery(prev), from: Math.round(view.fromMs), to: Math.round(view.toMs) }),
        { replace: true },
      );
    },
    [setParams],
  );

  // Specs the server refused: dropped from the URL (the chart loads again without them), the reason shown.
  const [indicatorProblem, setIndicatorProblem] = useState<string | null>(null);
  const onRejectedIndicators = useCallback(
    (rejected: RejectedIndicator[]) => {
      setIndicatorProblem(rejected.map((r) => `${r.spec}: ${r.reason}`).join(" · "));
      const dropped = new Set(rejected.map((r) => r.spec));
      setParams(
        (prev) => {
          const q = parseAnalysisQuery(prev);
          return serializeAnalysisQuery({ ...q, indicators: q.indicators.filter((i) => !dropped.has(i.spec)) });
        },
        { replace: true },
      );
    },
    [setParams],
  );

  // The run shown (followed by `RunFollower`): its trades are marked on the chart once it is a complete backtest of this symbol.
  const [followed, setFollowed] = useState<{ runId: string; state: RunState } | null>(null);
  const onRunState = useCallback((runId: string, state: RunState) => setFollowed({ runId, state }), []);
  const runState = followed !== null && followed.runId === query.run ? followed.state : NO_RUN;
  const shownRun = runState.run;
  const chartRun =
    shownRun !== null && shownRun.kind === "backtest" && shownRun.status === "complete" && selected !== null && (shownRun.pin?.symbol ?? shownRun.symbol) === selected.symbol
      ? shownRun.run_id
      : null;
  const [under, setUnder] = useState<Under>(query.run !== null ? "run" : "bars");
  const [strategiesOpen, setStrategiesOpen] = useState(false);
  const [detailsOpen, setDetailsOpen] = useState(true);
  // What the assistant asked to show: evidence over the chart, a strategy in the workbench.
  const [evidence, setEvidence] = useState<Evidence | null>(null);
  const [strategyAsked, setStrategyAsked] = useState<{ id: number } | null>(null);
  const [projectionsOpen, setProjectionsOpen] = useState(false);

  // Of the projections the URL names, the layer drawing them says which to join to the slices: the
  // complete ones of the charted series and timeframe (see `projectionKey` below).
  const [joined, setJoined] = useState<{ key: string | null; ids: readonly string[] }>({ key: null, ids: NO_PROJECTIONS });
  const chartProjections = useMemo(
    () => (joined.ids.length > 0 ? joined.ids.filter((id) => query.projections.includes(id)) : NO_PROJECTIONS),
    [joined, query.projections],
  );

  const live = useLiveBars(selected?.symbol ?? null, selected?.adjusted ?? true);
  // Hidden indicators are asked for too: hiding or showing one draws or drops it at once.
  const requested = useMemo(() => query.indicators.map((i) => i.spec), [query.indicators]);
  const slice = useChartSlices(handles, {
    table: selected?.table ?? null,
    timeframe,
    finestMs: selected !== null ? datasetBarMs(selected) : DAY_MS,
    adjusted: selected?.adjusted ?? true,
    session: query.session,
    bounds,
    initialView: query.from !== null && query.to !== null ? { fromMs: query.from, toMs: query.to } : null,
    onViewChange,
    live,
    indicators: requested,
    onRejectedIndicators,
    runId: chartRun,
    projections: chartProjections,
  });
  // Projections are of a symbol's prices (adjusted or raw) at a timeframe (the chart's, or the one the
  // server picked for Auto): another series forgets which were joined at once, before the slices ask again.
  const projectionTimeframe = timeframe ?? (isTimeframe(slice.timeframe) ? slice.timeframe : null);
  const projectionKey = selected !== null && projectionTimeframe !== null ? `${selected.symbol}|${selected.adjusted}|${projectionTimeframe}` : null;
  if (joined.key !== projectionKey && joined.ids.length > 0) setJoined({ key: projectionKey, ids: NO_PROJECTIONS });
  const onDrawable = useCallback(
    (ids: string[]) => setJoined((prev) => (prev.key === projectionKey && prev.ids.join() === ids.join() ? prev : { key: projectionKey, ids })),
    [projectionKey],
  );
  useTradeMarkers(handles, slice.data, chartRun);
  const width = bucketMs(slice.bucket) ?? (timeframe !== null ? timeframeMs(timeframe) : DAY_MS);
  const adjusted = slice.adjusted ?? selected?.adjusted ?? null;
  const gaps = useGapBands(handles, selected, width, assessed);
  const selection = useMemo(() => indicatorSelection(query.indicators, slice.indicatorSpecs, slice.indicators), [query.indicators, slice.indicatorSpecs, slice.indicators]);
  const chartedSeries = useMemo(
    () =>
      selected !== null && slice.bucket !== null
        ? { symbol: selected.symbol, adjusted: adjusted ?? selected.adjusted, bucket: slice.bucket, session: query.session, intraday: width < DAY_MS }
        : null,
    [selected, slice.bucket, adjusted, query.session, width],
  );
  const indicators = useIndicatorLines(handles, {
    columns: selection.columns,
    colors: selection.colors,
    bars: slice.data,
    live: { subscribe: live.subscribeIndicators, series: chartedSeries },
  });
  const notes = useMemo(() => shortfallNotes(selection.canonical, indicators.shortfalls), [selection.canonical, indicators.shortfalls]);

  // A clicked grid row: centre the chart on it and put the crosshair there.
  const [picked, setPicked] = useState<number | null>(null);
  const pickRow = (index: number): void => {
    const bar = slice.data[index];
    if (handles === null || bar === undefined) return;
    handles.chart.timeScale().setVisibleLogicalRange(centredOn(index, range));
    setPicked(bar.ts);
    requestAnimationFrame(() => handles.chart.setCrosshairPosition(bar.close, Math.floor(bar.ts / 1000) as UTCTimestamp, handles.candles));
  };
  const activeTs = hovered !== null ? hovered.timeSec * 1000 : picked;

  // The grid's height, dragged with the splitter above it (null: the stylesheet's 30%).
  const centre = useRef<HTMLElement | null>(null);
  const [gridPx, setGridPx] = useState<number | null>(null);
  const startResize = (e: ReactPointerEvent<HTMLDivElement>): void => {
    const pane = centre.current;
    if (pane === null) return;
    e.preventDefault();
    const target = e.currentTarget;
    target.setPointerCapture(e.pointerId);
    const move = (ev: PointerEvent): void => {
      const rect = pane.getBoundingClientRect();
      setGridPx(Math.max(GRID_MIN_PX, Math.min(rect.bottom - ev.clientY, rect.height - CHART_MIN_PX)));
    };
    const up = (): void => {
      target.removeEventListener("pointermove", move);
      target.removeEventListener("pointerup", up);
    };
    target.addEventListener("pointermove", move);
    target.addEventListener("pointerup", up);
  };

  const replaceQuery = (patch: Partial<typeof EMPTY_QUERY>): void => {
    setParams((prev) => serializeAnalysisQuery({ ...parseAnalysisQuery(prev), ...patch }));
  };
  const selectDataset = (d: Dataset): void => {
    if (d.table === query.table) return;
    setParams(serializeAnalysisQuery({ ...EMPTY_QUERY, table: d.table, tf: nativeTimeframe(d), session: query.session, indicators: query.indicators }));
  };
  const selectTimeframe = (tf: TimeframeChoice): void => replaceQuery({ tf });
  const selectSession = (session: TradingSession): void => replaceQuery({ session });
  const selectIndicators = (next: ActiveIndicator[]): void => {
    setIndicatorProblem(null);
    replaceQuery({ indicators: next });
  };
  const onDeleted = (table: string): void => {
    const next = datasets?.find((d) => d.table !== table) ?? null;
    drop(table);
    setParams(next !== null ? serializeAnalysisQuery({ ...EMPTY_QUERY, table: next.table, tf: nativeTimeframe(next) }) : new URLSearchParams(), {
      replace: true,
    });
  };

  let empty: string | null = null;
  // A cached list may predate the dataset asked for (one just fetched or imported): wait for the fresh one.
  if (loading && (datasets === null || (query.table !== null && selected === null))) empty = "Loading datasets…";
  else if (datasets !== null && datasets.length === 0) empty = can("analyst") ? "No datasets yet — fetch some bars first." : "No datasets yet.";
  else if (query.table !== null && datasets !== null && selected === null) empty = `No dataset named “${query.table}”.`;

  const view = query.from !== null && query.to !== null ? { fromMs: query.from, toMs: query.to } : null;
  const runSeries: RunSeries | null =
    selected !== null ? { table: selected.table, symbol: selected.symbol, adjusted: selected.adjusted, timeframe, session: query.session } : null;
  const showRun = (runId: string): void => {
    setUnder("run");
    replaceQuery({ run: runId, compare: null });
  };
  const onStarted = (accepted: RunAccepted): void => showRun(accepted.run_id);
  const projectionSeries =
    selected !== null && projectionTimeframe !== null
      ? { table: selected.table, symbol: selected.symbol, timeframe: projectionTimeframe, adjusted: selected.adjusted, session: query.session }
      : null;
  const showProjection = (id: string, shown: boolean): void => {
    setParams((prev) => {
      const q = parseAnalysisQuery(prev);
      const rest = q.projections.filter((p) => p !== id);
      return serializeAnalysisQuery({ ...q, projections: shown ? [...rest, id].slice(-MAX_PROJECTIONS) : rest });
    });
  };
  const openScreened = (table: string, tf: Timeframe): void => {
    setParams(serializeAnalysisQuery({ ...EMPTY_QUERY, table, tf, session: query.session, indicators: query.indicators }));
  };
  const openOnChart = (target: ChartTarget): void => {
    setParams(target.params);
    setEvidence(target.evidence);
    if (target.run) setUnder("run");
  };
  const applyStrategy = (id: number): void => {
    setStrategiesOpen(true);
    setStrategyAsked({ id });
  };
  const screenTimeframe: Timeframe = timeframe ?? (slice.timeframe !== null && TIMEFRAMES.some((t) => t === slice.timeframe) ? (slice.timeframe as Timeframe) : "1d");

  return (
    <div className={`analysis${strategiesOpen ? " strategies-open" : ""}${projectionsOpen ? " projections-open" : ""}`}>
      {query.run !== null ? (
        <Suspense fallback={null}>
          <RunFollower runId={query.run} onState={onRunState} />
        </Suspense>
      ) : null}
      <aside className="pane pane-left">
        <div className="pane-head">Timeframe</div>
        <TimeframeBar value={choice} dataset={selected} onChange={selectTimeframe} />
        <div className="pane-head">Session</div>
        <SessionToggle value={query.session} disabled={!intraday} onChange={selectSession} />
        <div className="pane-head">Indicators</div>
        <IndicatorPicker
          value={query.indicators}
          onChange={selectIndicators}
          problem={indicatorProblem}
          canonical={selection.canonical}
          colorOf={selection.colorOf}
          notes={notes}
        />
        <button
          type="button"
          className="pane-head pane-toggle"
          aria-expanded={strategiesOpen}
          onClick={() => setStrategiesOpen(!strategiesOpen)}
          data-testid="strategies-toggle"
        >
          Strategies <span aria-hidden="true">{strategiesOpen ? "▾" : "▸"}</span>
        </button>
        {strategiesOpen ? (
          <Suspense fallback={<div className="muted pad-small">Loading…</div>}>
            <StrategiesPanel series={runSeries} view={view} onStarted={onStarted} canEdit={can("analyst")} asked={strategyAsked} />
          </Suspense>
        ) : null}
        <button
          type="button"
          className="pane-head pane-toggle"
          aria-expanded={projectionsOpen}
          onClick={() => setProjectionsOpen(!projectionsOpen)}
          data-testid="projections-toggle"
        >
          Projections <span aria-hidden="true">{projectionsOpen ? "▾" : "▸"}</span>
        </button>
        {projectionsOpen ? (
          <Suspense fallback={<div className="muted pad-small">Loading…</div>}>
            <ProjectionsPanel series={projectionSeries} drawn={query.projections} onShow={showProjection} canEdit={can("analyst")} />
          </Suspense>
        ) : null}
        <div className="pane-head">
          Datasets
          {can("analyst") ? (
            <Link to="/fetch" className="pane-head-link">
              + Fetch
            </Link>
          ) : null}
        </div>
        <ProblemBox error={error} testId="datasets-problem" />
        {datasets !== null ? <DatasetList datasets={datasets} selected={selected?.table ?? null} onSelect={selectDataset} /> : null}
        <button type="button" className="pane-head pane-toggle" aria-expanded={detailsOpen} onClick={() => setDetailsOpen(!detailsOpen)} data-testid="details-toggle">
          Details <span aria-hidden="true">{detailsOpen ? "▾" : "▸"}</span>
        </button>
        {detailsOpen ? (
          <div className="details-section">
            {selected !== null ? (
              <DatasetDetails
                dataset={selected}
                bucket={slice.bucket}
                timeframe={choice}
                served={slice.timeframe}
                session={query.session}
                view={view}
                bars={slice.bars}
                truncated={slice.truncated}
                onDeleted={can("admin") ? onDeleted : null}
                onAssessed={can("analyst") ? reload : null}
              />
            ) : (
              <div className="muted pad">Select a dataset.</div>
            )}
          </div>
        ) : null}
      </aside>

      <main className="pane pane-center" ref={centre}>
        <div className="chart-head">
          <span className="symbol">{selected?.symbol ?? "—"}</span>
          <span className="muted" data-testid="chart-timeframe">
            {choice === "auto" ? `auto · ${slice.timeframe ?? "…"}` : choice}
          </span>
          {slice.bucket !== null && slice.bucket !== (slice.timeframe ?? timeframe) ? <span className="muted">· bucket {slice.bucket}</span> : null}
          {adjusted !== null ? (
            <span
              className={adjusted ? "badge badge-adjusted" : "badge badge-raw"}
              data-testid="adjusted-badge"
              data-adjusted={adjusted ? "true" : "false"}
              title={adjusted ? "Prices are adjusted for splits" : "Prices as traded, not adjusted for splits"}
            >
              {adjusted ? "split-adjusted" : "raw"}
            </span>
          ) : null}
          {query.session === "regular" && intraday ? (
            <span className="badge badge-source" data-testid="session-badge">
              regular hours
            </span>
          ) : null}
          {selected?.source === "synthetic" ? <SourceBadge source="synthetic" long /> : null}
          <LiveBadge live={live} />
          <GapBadge state={gaps} />
        </div>
        <ChartView
          containerRef={setContainer}
          hovered={hovered}
          slice={slice}
          bucketMs={width}
          empty={empty}
          storedBars={selected?.total_records ?? null}
          indicators={indicators}
          overlay={
            <>
              {query.projections.length > 0 && projectionSeries !== null ? (
                <Suspense fallback={null}>
                  <ProjectionLayer handles={handles} series={projectionSeries} ids={query.projections} bars={slice.data} future={slice.future} onDrawable={onDrawable} />
                </Suspense>
              ) : null}
              {evidence !== null ? (
                <Suspense fallback={null}>
                  <EvidenceLayer handles={handles} evidence={evidence} symbol={selected?.symbol ?? null} bars={slice.data} bucketMs={width} loading={slice.loading} onClear={() => setEvidence(null)} />
                </Suspense>
              ) : null}
            </>
          }
        />
        <div className="splitter" role="separator" aria-orientation="horizontal" aria-label="Resize the bar table" onPointerDown={startResize} />
        <div className={under === "bars" ? "grid-pane" : "grid-pane grid-pane-tall"} style={gridPx !== null ? { flexBasis: gridPx } : undefined}>
          <div className="under-tabs" role="tablist" aria-label="Under the chart">
            {(
              [
                ["bars", "Bars"],
                ["run", "Strategy run"],
                ["screen", "Screen"],
              ] as const
            ).map(([key, label]) => (
              <button key={key} type="button" role="tab" aria-selected={under === key} className={under === key ? "under-tab active" : "under-tab"} onClick={() => setUnder(key)} data-testid={`under-${key}`}>
                {label}
              </button>
            ))}
          </div>
          {under === "bars" ? (
            <DataGrid bars={slice.data} range={range} activeTs={activeTs} bucketMs={width} onPick={pickRow} indicators={indicators.lines} valueOf={indicators.valueOf} />
          ) : (
            <div className="under-scroll">
              <Suspense fallback={<div className="muted pad-small">Loading…</div>}>
                {under === "screen" ? (
                  <ScreenPanel timeframe={screenTimeframe} session={query.session} onOpen={openScreened} />
                ) : query.run !== null ? (
                  <RunResults
                    state={runState}
                    runId={query.run}
                    compareId={query.compare}
                    onSelect={showRun}
                    onCompare={(compare) => replaceQuery({ compare })}
                    onStarted={onStarted}
                    canRun={can("analyst")}
                  />
                ) : (
                  <div className="muted pad-small">No run yet: open Strategies on the left, write or pick one, and run it on this series.</div>
                )}
              </Suspense>
            </div>
          )}
        </div>
      </main>

      <aside className="pane pane-right" aria-label="Assistant">
        <Suspense fallback={<div className="muted pad-small">Loading…</div>}>
          <AssistantPane datasets={datasets} symbol={selected?.symbol ?? null} timeframe={projectionTimeframe} onOpen={openOnChart} onApplyStrategy={applyStrategy} />
        </Suspense>
      </aside>
    </div>
  );
}
