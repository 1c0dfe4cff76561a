/**
 * Shades the selected dataset's gaps on the chart: loads them from
 * `GET /api/v1/stocks/table/{table}/quality` (the server assesses a dataset never assessed, and
 * `onAssessed` hears of an assessment the dataset did not carry yet), and owns the band primitive
 * on the candle series for as long as the chart lives.
 *
 * The report and the dataset each say when the data was assessed: whichever is newer has the last
 * word. A dataset assessed again since the report was read (after a fetch or a re-assessment) reads
 * the report again; a report newer than the dataset (assessed just now, or since the dataset was
 * listed) is passed on to `onAssessed`, and once the dataset carries it nothing is read again.
 */
import { skipToken, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useMemo, useRef, useState } from "react";

import { getTableQuality, type QualityWindow } from "../api/endpoints/stocks";
import type { DataQuality, DataQualityReport, Dataset } from "../api/types";
import { datasetKeys } from "../queries/keys/datasets";
import type { GapSpan } from "./gapBands";
import { GapBandsPrimitive } from "./GapBandsPrimitive";
import { type ChartHandles, isRemoved } from "./useChart";

/** The most gaps drawn (oldest first); a dataset with more says so. */
export const GAPS_DRAWN = 20_000;
const GAP_WINDOW: QualityWindow = { limit: GAPS_DRAWN };

export interface GapBandsState {
  report: DataQualityReport | null;
  error: unknown;
}

/** Gap spans in epoch ms from a report. */
export function reportSpans(report: DataQualityReport | null): GapSpan[] {
  if (report === null) return [];
  return report.gaps.map((g) => ({ startMs: Date.parse(g.start), endMs: Date.parse(g.end), missing: g.missing }));
}

/** Whether assessment time `a` is later than `b` (ISO instants; `""`: never assessed). */
function assessedLater(a: string, b: string): boolean {
  if (a === "") return false;
  return b === "" || Date.parse(a) > Date.parse(b);
}

export function useGapBands(
  handles: ChartHandles | null,
  dataset: Dataset | null,
  bucketMs: number,
  onAssessed?: (table: string, quality: DataQuality) => void,
): GapBandsState {
  const client = useQueryClient();
  const table = dataset?.table ?? null;
  const datasetAssessedAt = dataset?.quality?.assessed_at ?? "";
  const { data, error } = useQuery({
    queryKey: datasetKeys.qualityReport(table, GAP_WINDOW),
    queryFn: table === null ? skipToken : ({ signal }) => getTableQuality(table, GAP_WINDOW, signal),
  });
  const report = data ?? null;
  const reportAssessedAt = report?.quality.assessed_at ?? "";
  // The latest report and listener, for the effect below to read without re-running for them.
  const latest = useRef({ report, onAssessed });
  useEffect(() => {
    latest.current = { report, onAssessed };
  });

  useEffect(() => {
    const current = latest.current.report;
    if (table === null || current === null) return;
    if (assessedLater(datasetAssessedAt, reportAssessedAt)) {
      void client.invalidateQueries({ queryKey: datasetKeys.qualityReport(table, GAP_WINDOW), exact: true });
    } else if (assessedLater(reportAssessedAt, datasetAssessedAt)) {
      latest.current.onAssessed?.(table, current.quality);
    }
  }, [client, table, datasetAssessedAt, reportAssessedAt]);

  // One primitive per chart: a chart removed and created again (remounts) never shares it.
  const [primitive, setPrimitive] = useState<GapBandsPrimitive | null>(null);
  useEffect(() => {
    if (handles === null) return undefined;
    const { candles, chart } = handles;
    const created = new GapBandsPrimitive();
    candles.attachPrimitive(created);
    // eslint-disable-next-line react-hooks/set-state-in-effect -- made with the chart it is attached to, for the effect below
    setPrimitive(created);
    return () => {
      setPrimitive(null);
      if (!isRemoved(chart)) candles.detachPrimitive(created); // else it went with the chart
    };
  }, [handles]);

  const spans = useMemo(() => reportSpans(report), [report]);
  useEffect(() => {
    primitive?.setGaps(spans, bucketMs);
  }, [primitive, spans, bucketMs]);

  return { report, error };
}
