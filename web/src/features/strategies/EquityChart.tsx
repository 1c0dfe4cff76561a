/**
 * A run's equity curve over its drawdown, or two runs' curves on one chart (rebased to 100 when they
 * started from different cash): a small lightweight-charts chart of its own, equity on the upper
 * pane and drawdown (%) below it. What is drawn is on the container (`data-curves`, `data-points`)
 * for browser tests.
 */
import { AreaSeries, createChart, type IChartApi, LineSeries, LineStyle } from "lightweight-charts";
import { useEffect, useRef, useState } from "react";

import type { EquityPoint } from "../../api/types";
import { CHART_OPTIONS } from "../../chart/theme";
import { applyTimeFormat } from "../../chart/useChart";
import { equitySeries, rebased } from "./equity";

export interface EquityCurveInput {
  label: string;
  color: string;
  points: readonly EquityPoint[];
}

interface Props {
  curves: readonly EquityCurveInput[];
  /** Bar width of the runs, ms (for the time axis' labels). */
  bucketMs: number;
}

/** Says on the container what is drawn: how many curves, each one's points, whether rebased. */
function describe(container: HTMLElement, points: readonly number[], rebase: boolean): void {
  container.dataset.curves = String(points.length);
  container.dataset.points = points.join(" ");
  container.dataset.rebased = rebase ? "true" : "false";
}

export const CURVE_COLORS = ["#60a5fa", "#f0b429"] as const;
const DRAWDOWN_COLOR = "#ef5350";
const EQUITY_FORMAT = { type: "price", precision: 0, minMove: 1 } as const;

export function EquityChart({ curves, bucketMs }: Props) {
  const [container, setContainer] = useState<HTMLDivElement | null>(null);
  const chartRef = useRef<IChartApi | null>(null);
  const [chart, setChart] = useState<IChartApi | null>(null);

  useEffect(() => {
    if (container === null) return undefined;
    const made = createChart(container, {
      ...CHART_OPTIONS,
      rightPriceScale: { borderColor: "#232a36", scaleMargins: { top: 0.1, bottom: 0.05 } },
      timeScale: { borderColor: "#232a36", rightOffset: 2 },
      handleScroll: true,
      handleScale: true,
    });
    chartRef.current = made;
    // eslint-disable-next-line react-hooks/set-state-in-effect -- the series need the mounted chart
    setChart(made);
    return () => {
      chartRef.current = null;
      setChart(null);
      made.remove();
    };
  }, [container]);

  useEffect(() => {
    if (chart === null || container === null) return undefined;
    applyTimeFormat(chart, bucketMs);
    const made = curves.map((c) => ({ curve: c, data: equitySeries(c.points) }));
    const starts = new Set(made.map((m) => m.data.equity[0]?.value).filter((v) => v !== undefined));
    const rebase = made.length > 1 && starts.size > 1;
    const added = made.flatMap(({ curve, data }, index) => {
      const equity = chart.addSeries(
        LineSeries,
        { color: curve.color, lineWidth: 2, priceLineVisible: false, lastValueVisible: true, title: made.length > 1 ? curve.label : "", priceFormat: EQUITY_FORMAT },
        0,
      );
      equity.setData(rebase ? rebased(data.equity) : data.equity);
      const drawdown =
        made.length === 1
          ? chart.addSeries(
              AreaSeries,
              // Filled from the line up to zero: the depth of each drawdown.
              { lineColor: DRAWDOWN_COLOR, topColor: "rgba(239, 83, 80, 0.4)", bottomColor: "rgba(239, 83, 80, 0.05)", invertFilledArea: true, lineWidth: 1, priceLineVisible: false, lastValueVisible: false, priceFormat: { type: "percent" } },
              1,
            )
          : chart.addSeries(LineSeries, { color: curve.color, lineWidth: 1, lineStyle: index === 0 ? LineStyle.Solid : LineStyle.Dashed, priceLineVisible: false, lastValueVisible: false, priceFormat: { type: "percent" } }, 1);
      drawdown.setData(data.drawdown);
      return [equity, drawdown];
    });
    chart.panes()[0]?.setStretchFactor(0.7);
    chart.panes()[1]?.setStretchFactor(0.3);
    chart.timeScale().fitContent();
    describe(container, made.map((m) => m.data.equity.length), rebase);
    return () => {
      if (chartRef.current !== chart) return; // removed with the chart
      for (const series of added) chart.removeSeries(series);
    };
  }, [chart, container, curves, bucketMs]);

  return (
    <div className="equity-chart-wrap">
      <div className="equity-legend">
        {curves.map((c) => (
          <span key={c.label} className="equity-legend-item">
            <span className="swatch-line" style={{ background: c.color }} />
            {c.label}
          </span>
        ))}
        <span className="muted">equity · drawdown %</span>
      </div>
      <div ref={setContainer} className="equity-chart" data-testid="equity-chart" />
    </div>
  );
}
