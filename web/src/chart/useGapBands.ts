/**
 * Shades the selected dataset's gaps on the chart: loads them from
 * `GET /api/v1/stocks/table/{table}/quality` (the server assesses a dataset never assessed, and
 * `onAssessed` hears of an assessment the dataset did not carry yet), and owns the band primitive
 * on the candle series for as long as the chart lives.
 */
import { useEffect, useMemo, useRef, useState } from "react";

import { getTableQuality } from "../api/client";
import { isAbortError } from "../api/problem";
import type { DataQuality, DataQualityReport, Dataset } from "../api/types";
import type { GapSpan } from "./gapBands";
import { GapBandsPrimitive } from "./GapBandsPrimitive";
import { type ChartHandles, isRemoved } from "./useChart";

/** The most gaps drawn (oldest first); a dataset with more says so. */
export const GAPS_DRAWN = 20_000;

export interface GapBandsState {
  report: DataQualityReport | null;
  error: unknown;
}

/** Gap spans in epoch ms from a report. */
export function reportSpans(report: DataQualityReport | null): GapSpan[] {
  if (report === null) return [];
  return report.gaps.map((g) => ({ startMs: Date.parse(g.start), endMs: Date.parse(g.end), missing: g.missing }));
}

export function useGapBands(
  handles: ChartHandles | null,
  dataset: Dataset | null,
  bucketMs: number,
  onAssessed?: (table: string, quality: DataQuality) => void,
): GapBandsState {
  const [state, setState] = useState<GapBandsState>({ report: null, error: null });
  const table = dataset?.table ?? null;
  // A new assessment (after a fetch or a re-assessment) changes this and reloads the gaps.
  const version = dataset?.quality?.assessed_at ?? "";
  // Whose assessment the report holds: the dataset catching up with it needs no second request.
  const loaded = useRef<{ table: string; assessedAt: string } | null>(null);
  const onAssessedRef = useRef(onAssessed);
  useEffect(() => {
    onAssessedRef.current = onAssessed;
  });

  useEffect(() => {
    const last = loaded.current;
    if (last !== null && last.table === table && last.assessedAt === version) return undefined;
    loaded.current = null;
    setState({ report: null, error: null });
    if (table === null) return undefined;
    const controller = new AbortController();
    getTableQuality(table, { limit: GAPS_DRAWN }, controller.signal)
      .then((report) => {
        if (controller.signal.aborted) return;
        const assessedAt = report.quality.assessed_at;
        loaded.current = { table, assessedAt };
        setState({ report, error: null });
        // Assessed just now (or since the dataset was listed): the dataset passed in does not say so yet.
        if (assessedAt !== version) onAssessedRef.current?.(table, report.quality);
      })
      .catch((error: unknown) => {
        if (!isAbortError(error) && !controller.signal.aborted) setState({ report: null, error });
      });
    return () => controller.abort();
  }, [table, version]);

  // One primitive per chart: a chart removed and created again (remounts) never shares it.
  const [primitive, setPrimitive] = useState<GapBandsPrimitive | null>(null);
  useEffect(() => {
    if (handles === null) return undefined;
    const { candles, chart } = handles;
    const created = new GapBandsPrimitive();
    candles.attachPrimitive(created);
    setPrimitive(created);
    return () => {
      setPrimitive(null);
      if (!isRemoved(chart)) candles.detachPrimitive(created); // else it went with the chart
    };
  }, [handles]);

  const spans = useMemo(() => reportSpans(state.report), [state.report]);
  useEffect(() => {
    primitive?.setGaps(spans, bucketMs);
  }, [primitive, spans, bucketMs]);

  return state;
}
