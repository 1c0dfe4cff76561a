// @vitest-environment jsdom
// The indicator line series against a fake chart that keeps panes as lightweight-charts does
// (a series added past the last pane opens a new one; a pane left empty goes).
import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterEach, describe, expect, it } from "vitest";

import type { IndicatorColumn, IndicatorLine } from "./indicators";
import type { Bar } from "./series";
import type { ChartHandles } from "./useChart";
import { useIndicatorLines } from "./useIndicatorLines";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

interface Point {
  time: number;
  value?: number;
}

interface FakeSeries {
  color: string;
  data: Point[];
  /** How often the whole data was set. */
  sets: number;
}

function fakeChart() {
  const candles: FakeSeries = { color: "candles", data: [], sets: 0 };
  const volume: FakeSeries = { color: "volume", data: [], sets: 0 };
  const panes: { series: FakeSeries[]; stretch: number }[] = [
    { series: [candles], stretch: 0.78 },
    { series: [volume], stretch: 0.22 },
  ];
  const paneApi = (pane: { stretch: number }) => ({ setStretchFactor: (f: number) => (pane.stretch = f) });
  const chart = {
    panes: () => panes.map(paneApi),
    addSeries: (_definition: unknown, options: { color: string }, paneIndex = 0) => {
      const series: FakeSeries = { color: options.color, data: [], sets: 0 };
      const api = {
        setData: (d: Point[]) => {
          series.data = d;
          series.sets += 1;
        },
        // As lightweight-charts: replaces the last point at its time, or appends a later one.
        update: (p: Point) => {
          const last = series.data[series.data.length - 1];
          if (last !== undefined && p.time < last.time) throw new Error("Cannot update oldest data");
          series.data = last !== undefined && last.time === p.time ? [...series.data.slice(0, -1), p] : [...series.data, p];
        },
        applyOptions: () => undefined,
        fake: series,
      };
      let pane = panes[Math.min(paneIndex, panes.length)];
      if (pane === undefined) {
        pane = { series: [], stretch: 1 };
        panes.push(pane);
      }
      pane.series.push(series);
      return api;
    },
    removeSeries: (api: { fake: FakeSeries }) => {
      const index = panes.findIndex((p) => p.series.includes(api.fake));
      const pane = panes[index];
      if (pane === undefined) throw new Error("Series not found");
      pane.series = pane.series.filter((s) => s !== api.fake);
      if (pane.series.length === 0 && panes.length > 1) panes.splice(index, 1);
    },
  };
  const handles = { chart, candles: {}, volume: {}, container: document.createElement("div") } as unknown as ChartHandles;
  const layout = () => panes.map((p) => p.series.map((s) => s.color));
  return { handles, panes, layout };
}

const column = (spec: string, output: string, overlay: boolean): IndicatorColumn => ({ key: `ind:${spec}:${output}`, spec, output, overlay, displayName: spec });
const SMA = column("sma(20)", "real", true);
const RSI = column("rsi", "real", false);
const MACD = ["macd", "macdsignal", "macdhist"].map((o) => column("macd(12,26,9)", o, false));

const bar = (ts: number, values: Record<string, number | null>): Bar => ({ ts, open: 1, high: 1, low: 1, close: 1, volume: 1, extra: values });
const BARS = [bar(60_000, { [SMA.key]: null, [RSI.key]: 40 }), bar(120_000, { [SMA.key]: 1.5, [RSI.key]: 45 })];

let root: Root | null = null;
let lines: IndicatorLine[] = [];
/** Keeps what the hook returned (outside the component: a render must not assign outer variables). */
function record(returned: IndicatorLine[]): void {
  lines = returned;
}

function Harness({ handles, columns, bars }: { handles: ChartHandles; columns: IndicatorColumn[]; bars: Bar[] }) {
  record(useIndicatorLines(handles, columns, bars));
  return null;
}

async function render(handles: ChartHandles, columns: IndicatorColumn[], bars: Bar[] = BARS): Promise<void> {
  if (root === null) root = createRoot(document.createElement("div"));
  await act(async () => root?.render(<Harness handles={handles} columns={columns} bars={bars} />));
}

afterEach(async () => {
  await act(async () => root?.unmount());
  root = null;
});

describe("useIndicatorLines", () => {
  it("draws overlays with the candles and each other indicator in its own pane below the volume", async () => {
    const chart = fakeChart();
    await render(chart.handles, [SMA, RSI, ...MACD]);
    const colors = lines.map((l) => l.color);
    expect(chart.layout()).toEqual([["candles", colors[0]], ["volume"], [colors[1]], [colors[2], colors[3], colors[4]]]);
    expect(chart.panes.slice(2).map((p) => p.stretch)).toEqual([0.22, 0.22]);
    const rsi = chart.panes[2]?.series[0];
    expect(rsi?.data).toEqual([{ time: 60, value: 40 }, { time: 120, value: 45 }]);
    expect(chart.panes[0]?.series[1]?.data).toEqual([{ time: 60 }, { time: 120, value: 1.5 }]);
  });

  it("feeds new bars to the same series, and rebuilds only when the columns change", async () => {
    const chart = fakeChart();
    await render(chart.handles, [SMA, RSI]);
    const rsi = chart.panes[2]?.series[0];
    await render(chart.handles, [{ ...SMA }, { ...RSI }], [...BARS, bar(180_000, { [SMA.key]: 2, [RSI.key]: 50 })]);
    expect(chart.panes[2]?.series[0]).toBe(rsi);
    expect(rsi?.data).toHaveLength(3);
    await render(chart.handles, [SMA]);
    expect(chart.layout()).toEqual([["candles", lines[0]?.color], ["volume"]]);
  });

  it("redraws only the last points when only the last bar changed (live bars)", async () => {
    const chart = fakeChart();
    await render(chart.handles, [SMA, RSI]);
    const rsi = chart.panes[2]?.series[0];
    const first = BARS[0] as Bar;
    await render(chart.handles, [SMA, RSI], [first, bar(120_000, { [SMA.key]: 1.6, [RSI.key]: 47 })]);
    await render(chart.handles, [SMA, RSI], [first, bar(120_000, { [SMA.key]: 1.6, [RSI.key]: 47 }), bar(180_000, {})]);
    expect(rsi?.sets).toBe(1);
    expect(rsi?.data).toEqual([{ time: 60, value: 40 }, { time: 120, value: 47 }, { time: 180 }]);
  });

  it("removes every line when the indicators go or the component unmounts", async () => {
    const chart = fakeChart();
    await render(chart.handles, [SMA, RSI]);
    await render(chart.handles, []);
    expect(chart.layout()).toEqual([["candles"], ["volume"]]);
    await render(chart.handles, [RSI, ...MACD]);
    expect(chart.panes).toHaveLength(4);
    await act(async () => root?.unmount());
    root = null;
    expect(chart.layout()).toEqual([["candles"], ["volume"]]);
  });
});
