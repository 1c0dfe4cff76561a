/**
 * Analysis: datasets and timeframe on the left, the chart in the middle, the selected dataset's
 * details on the right. The dataset, timeframe and visible window live in the URL query.
 */
import { useCallback, useEffect, useMemo, useState } from "react";
import { Link, useSearchParams } from "react-router-dom";

import type { Dataset, Timeframe } from "../api/types";
import { ChartView } from "../chart/ChartView";
import { TimeframeBar } from "../chart/TimeframeBar";
import { useChart } from "../chart/useChart";
import { useChartSlices } from "../chart/useChartSlices";
import type { TimeWindow } from "../chart/window";
import { useAuth } from "../features/auth/context";
import { DatasetDetails } from "../features/datasets/DatasetDetails";
import { DatasetList } from "../features/datasets/DatasetList";
import { datasetBounds } from "../features/datasets/model";
import { useDatasets } from "../features/datasets/useDatasets";
import { nativeTimeframe } from "../state/timeframe";
import { EMPTY_QUERY, parseAnalysisQuery, serializeAnalysisQuery } from "../state/url";
import { ProblemBox } from "../ui/ProblemBox";
import { SourceBadge } from "../ui/SourceBadge";

export default function Analysis() {
  const [params, setParams] = useSearchParams();
  const query = useMemo(() => parseAnalysisQuery(params), [params]);
  const { datasets, error, loading, drop } = useDatasets();
  const { can } = useAuth();

  const selected: Dataset | null = datasets?.find((d) => d.table === query.table) ?? null;
  const timeframe: Timeframe = query.tf ?? (selected !== null ? nativeTimeframe(selected) : "1d");
  const bounds = useMemo(() => (selected !== null ? datasetBounds(selected) : null), [selected]);

  // With no dataset in the URL, open the first one.
  const first = datasets?.[0] ?? null;
  useEffect(() => {
    if (query.table === null && first !== null) {
      setParams(serializeAnalysisQuery({ ...EMPTY_QUERY, table: first.table, tf: query.tf ?? nativeTimeframe(first) }), { replace: true });
    }
  }, [first, query.table, query.tf, setParams]);

  const [container, setContainer] = useState<HTMLDivElement | null>(null);
  const handles = useChart(container);

  const onViewChange = useCallback(
    (view: TimeWindow) => {
      setParams(
        (prev) => serializeAnalysisQuery({ ...parseAnalysisQuery(prev), from: Math.round(view.fromMs), to: Math.round(view.toMs) }),
        { replace: true },
      );
    },
    [setParams],
  );

  const slice = useChartSlices(handles, {
    table: selected?.table ?? null,
    timeframe,
    adjusted: selected?.adjusted ?? true,
    bounds,
    initialView: query.from !== null && query.to !== null ? { fromMs: query.from, toMs: query.to } : null,
    onViewChange,
  });

  const selectDataset = (d: Dataset): void => {
    if (d.table === query.table) return;
    setParams(serializeAnalysisQuery({ ...EMPTY_QUERY, table: d.table, tf: nativeTimeframe(d) }));
  };
  const selectTimeframe = (tf: Timeframe): void => {
    setParams((prev) => serializeAnalysisQuery({ ...parseAnalysisQuery(prev), tf }));
  };
  const onDeleted = (table: string): void => {
    const next = datasets?.find((d) => d.table !== table) ?? null;
    drop(table);
    setParams(next !== null ? serializeAnalysisQuery({ ...EMPTY_QUERY, table: next.table, tf: nativeTimeframe(next) }) : new URLSearchParams(), {
      replace: true,
    });
  };

  let empty: string | null = null;
  if (loading && datasets === null) empty = "Loading datasets…";
  else if (datasets !== null && datasets.length === 0) empty = can("analyst") ? "No datasets yet — fetch some bars first." : "No datasets yet.";
  else if (query.table !== null && datasets !== null && selected === null) empty = `No dataset named “${query.table}”.`;

  return (
    <div className="analysis">
      <aside className="pane pane-left">
        <div className="pane-head">Timeframe</div>
        <TimeframeBar value={timeframe} dataset={selected} onChange={selectTimeframe} />
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
      </aside>

      <main className="pane pane-center">
        <div className="chart-head">
          <span className="symbol">{selected?.symbol ?? "—"}</span>
          <span className="muted">{timeframe}</span>
          {slice.bucket !== null && slice.bucket !== timeframe ? <span className="muted">· bucket {slice.bucket}</span> : null}
          {selected?.source === "synthetic" ? <SourceBadge source="synthetic" long /> : null}
        </div>
        <ChartView containerRef={setContainer} handles={handles} slice={slice} timeframe={timeframe} empty={empty} />
      </main>

      <aside className="pane pane-right">
        {selected !== null ? (
          <DatasetDetails
            dataset={selected}
            bucket={slice.bucket}
            timeframe={timeframe}
            bars={slice.bars}
            truncated={slice.truncated}
            onDeleted={can("admin") ? onDeleted : null}
          />
        ) : (
          <div className="muted pad">Select a dataset.</div>
        )}
      </aside>
    </div>
  );
}
