/**
 * Equity curves as chart series (pure): equity and drawdown per point, in whole seconds, ascending
 * and one point per second (the chart refuses repeated times: the last one is kept). Drawdowns hang
 * below zero whatever sign the server gives them.
 */
import type { LineData, UTCTimestamp } from "lightweight-charts";

import type { EquityPoint } from "../../api/types";

export interface EquitySeries {
  equity: LineData<UTCTimestamp>[];
  drawdown: LineData<UTCTimestamp>[];
}

export function equitySeries(points: readonly EquityPoint[]): EquitySeries {
  const sorted = points
    .filter(([ts, equity, drawdown]) => Number.isFinite(ts) && Number.isFinite(equity) && Number.isFinite(drawdown))
    .map((point, index) => ({ point, index }))
    .sort((a, b) => a.point[0] - b.point[0] || a.index - b.index);
  const equity: LineData<UTCTimestamp>[] = [];
  const drawdown: LineData<UTCTimestamp>[] = [];
  for (const { point } of sorted) {
    const [ts, value, dd] = point;
    const time = Math.floor(ts / 1000) as UTCTimestamp;
    const last = equity[equity.length - 1];
    if (last !== undefined && last.time === time) {
      equity.pop();
      drawdown.pop();
    }
    equity.push({ time, value });
    drawdown.push({ time, value: dd === 0 ? 0 : -Math.abs(dd) });
  }
  return { equity, drawdown };
}

/** Equity rebased to 100 at its first point, so runs with different cash compare on one chart. */
export function rebased(series: readonly LineData<UTCTimestamp>[]): LineData<UTCTimestamp>[] {
  const first = series[0]?.value;
  if (first === undefined || first === 0) return [...series];
  return series.map((p) => ({ time: p.time, value: (p.value * 100) / first }));
}
