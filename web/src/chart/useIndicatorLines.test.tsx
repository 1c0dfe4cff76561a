// @vitest-environment jsdom
// The indicator series against a fake chart that keeps panes as lightweight-charts does (a series
// added past the last pane opens a new one; a pane left empty goes), with price lines and markers.
import type { SeriesMarker, Time } from "lightweight-charts";
import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterEach, describe, expect, it } from "vitest";

import type { IndicatorCalculated } from "../api/events";
import type { ChartedSeries } from "./indicatorLive";
import type { IndicatorColumn } from "./indicators";
import type { Bar } from "./series";
import { fixtureColumn } from "./sliceFixture";
import type { ChartHandles } from "./useChart";
import { type IndicatorLines, type LiveIndicators, useIndicatorLines } from "./useIndicatorLines";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

interface Point {
  time: number;
  value?: number;
  color?: string;
}

interface FakeSeries {
  type: string;
  color: string;
  lineStyle: number;
  data: Point[];
  /** How often the whole data was set. */
  sets: number;
  levels: number[];
}

function fakeChart() {
  const candles: FakeSeries = { type: "Candlestick", color: "candles", lineStyle: 0, data: [], sets: 0, levels: [] };
  const volume: FakeSeries = { type: "Histogram", color: "volume", lineStyle: 0, data: [], sets: 0, levels: [] };
  const panes: { series: FakeSeries[]; stretch: number }[] = [
    { series: [candles], stretch: 0.78 },
    { series: [volume], stretch: 0.22 },
  ];
  const paneApi = (pane: { stretch: number }) => ({ setStretchFactor: (f: number) => (pane.stretch = f) });
  /** What the markers plugin on the candles holds (the real one, attached to this fake). */
  let primitive: { _internal_markers?: () => readonly SeriesMarker<Time>[] } | null = null;
  const chart = {
    panes: () => panes.map(paneApi),
    addSeries: (definition: { type: string }, options: { color: string; lineStyle?: number }, paneIndex = 0) => {
      const series: FakeSeries = { type: definition.type, color: options.color, lineStyle: options.lineStyle ?? 0, data: [], sets: 0, levels: [] };
      const api = {
        setData: (d: Point[]) => {
          series.data = d;
          series.sets += 1;
        },
        // As lightweight-charts: replaces the point at its time (an older one only as a historical update), or appends a later one.
        update: (p: Point, historical = false) => {
          const index = series.data.findIndex((q) => q.time === p.time);
          const last = series.data[series.data.length - 1];
          if (index >= 0 && (historical || index === series.data.length - 1)) series.data = series.data.map((q, i) => (i === index ? p : q));
          else if (last === undefined || p.time > last.time) series.data = [...series.data, p];
          else throw new Error("Cannot update oldest data");
        },
        applyOptions: () => undefined,
        createPriceLine: (o: { price: number }) => series.levels.push(o.price),
        priceLines: () => series.levels.map((price) => ({ options: () => ({ price }) })),
        seriesType: () => series.type,
        getPane: () => ({ paneIndex: () => panes.findIndex((p) => p.series.includes(series)) }),
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
  const candlesApi = {
    attachPrimitive: (p: typeof primitive) => (primitive = p),
    detachPrimitive: () => (primitive = null),
  };
  const container = document.createElement("div");
  const handles = { chart, candles: candlesApi, volume: {}, container } as unknown as ChartHandles;
  const layout = () => panes.map((p) => p.series.map((s) => s.color));
  const markers = () => primitive?._internal_markers?.() ?? null;
  const drawing = () => JSON.parse(container.dataset.indicatorDrawing ?? "null") as unknown;
  return { handles, panes, layout, markers, drawing };
}

const SMA = fixtureColumn("sma(20)", "real", { overlay: true });
const RSI = fixtureColumn("rsi", "real", { levels: [30, 70] });
const MACD = [fixtureColumn("macd", "macd", { levels: [0] }), fixtureColumn("macd", "macdsignal", { levels: [0], plot: "dashed" }), fixtureColumn("macd", "macdhist", { levels: [0], plot: "histogram" })];
const DOJI = fixtureColumn("cdldoji", "integer", { pane: "markers", plot: "markers" });

const bar = (ts: number, values: Record<string, number | null>): Bar => ({ ts, open: 1, high: 1, low: 1, close: 1, volume: 1, extra: values });
const BARS = [bar(60_000, { [SMA.key]: null, [RSI.key]: 40, [DOJI.key]: 0 }), bar(120_000, { [SMA.key]: 1.5, [RSI.key]: 45, [DOJI.key]: -100 })];

let root: Root | null = null;
let result: IndicatorLines = { lines: [], shortfalls: [], valueOf: () => null };
/** Keeps what the hook returned (outside the component: a render must not assign outer variables). */
function record(returned: IndicatorLines): void {
  result = returned;
}

interface HarnessProps {
  handles: ChartHandles;
  columns: IndicatorColumn[];
  bars: Bar[];
  colors?: Map<string, string[]>;
  live?: LiveIndicators | null;
}

function Harness({ handles, columns, bars, colors, live = null }: HarnessProps) {
  record(useIndicatorLines(handles, { columns, bars, colors, live }));
  return null;
}

async function render(props: HarnessProps): Promise<void> {
  if (root === null) root = createRoot(document.createElement("div"));
  await act(async () => root?.render(<Harness {...props} />));
}

afterEach(async () => {
  await act(async () => root?.unmount());
  root = null;
});

describe("useIndicatorLines", () => {
  it("draws overlays and patterns on the candles and each other indicator in its own pane with its levels", async () => {
    const chart = fakeChart();
    await render({ handles: chart.handles, columns: [SMA, RSI, ...MACD, DOJI], bars: BARS });
    const colors = result.lines.map((l) => l.color);
    expect(chart.layout()).toEqual([["candles", colors[0]], ["volume"], [colors[1]], [colors[2], colors[3], colors[4]]]);
    expect(chart.panes.slice(2).map((p) => p.stretch)).toEqual([0.22, 0.22]);
    const rsi = chart.panes[2]?.series[0];
    expect(rsi?.data).toEqual([{ time: 60, value: 40 }, { time: 120, value: 45 }]);
    expect(rsi?.levels).toEqual([30, 70]);
    expect(chart.panes[3]?.series.map((s) => [s.type, s.lineStyle, s.levels])).toEqual([
      ["Line", 0, [0]],
      ["Line", 2, []],
      ["Histogram", 0, []],
    ]);
    expect(chart.panes[0]?.series[1]?.data).toEqual([{ time: 60 }, { time: 120, value: 1.5 }]);
    expect(chart.markers()).toEqual([{ time: 120, position: "aboveBar", shape: "arrowDown", color: colors[5], size: 1 }]);
    expect(chart.drawing()).toEqual({
      panes: 4,
      series: [
        { key: SMA.key, kind: "Line", pane: 0, levels: [] },
        { key: RSI.key, kind: "Line", pane: 2, levels: [30, 70] },
        { key: "ind:macd:macd", kind: "Line", pane: 3, levels: [0] },
        { key: "ind:macd:macdsignal", kind: "Line", pane: 3, levels: [] },
        { key: "ind:macd:macdhist", kind: "Histogram", pane: 3, levels: [] },
      ],
      markers: 1,
    });
  });

  it("feeds new bars to the same series, and rebuilds only when what is drawn changes", async () => {
    const chart = fakeChart();
    await render({ handles: chart.handles, columns: [SMA, RSI], bars: BARS });
    const rsi = chart.panes[2]?.series[0];
    await render({ handles: chart.handles, columns: [{ ...SMA }, { ...RSI }], bars: [...BARS, bar(180_000, { [SMA.key]: 2, [RSI.key]: 50 })] });
    expect(chart.panes[2]?.series[0]).toBe(rsi);
    expect(rsi?.data).toHaveLength(3);
    await render({ handles: chart.handles, columns: [SMA, RSI], bars: BARS, colors: new Map([["rsi", ["#123456"]]]) });
    expect(chart.panes[2]?.series[0]?.color).toBe("#123456");
    await render({ handles: chart.handles, columns: [SMA], bars: BARS });
    expect(chart.layout()).toEqual([["candles", result.lines[0]?.color], ["volume"]]);
  });

  it("redraws only the last points when only the last bar changed (live bars)", async () => {
    const chart = fakeChart();
    await render({ handles: chart.handles, columns: [SMA, RSI], bars: BARS });
    const rsi = chart.panes[2]?.series[0];
    const first = BARS[0] as Bar;
    await render({ handles: chart.handles, columns: [SMA, RSI], bars: [first, bar(120_000, { [SMA.key]: 1.6, [RSI.key]: 47 })] });
    await render({ handles: chart.handles, columns: [SMA, RSI], bars: [first, bar(120_000, { [SMA.key]: 1.6, [RSI.key]: 47 }), bar(180_000, {})] });
    expect(rsi?.sets).toBe(1);
    expect(rsi?.data).toEqual([{ time: 60, value: 40 }, { time: 120, value: 47 }, { time: 180 }]);
  });

  it("moves a drawn indicator with the live points of the charted series, and keeps them over the next live bar", async () => {
    const chart = fakeChart();
    const listeners = new Set<(e: IndicatorCalculated) => void>();
    const series: ChartedSeries = { symbol: "DEMO", adjusted: true, bucket: "1m", session: "extended", intraday: true };
    const live: LiveIndicators = {
      subscribe: (listener) => {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
      series,
    };
    await render({ handles: chart.handles, columns: [RSI], bars: BARS, live });
    const rsi = chart.panes[2]?.series[0];
    const event: IndicatorCalculated = {
      type: "indicator_calculated",
      symbol: "DEMO",
      adjusted: true,
      series: "1m",
      session: "extended",
      timeframe: "1m",
      spec: "rsi",
      columns: [RSI.key],
      rows: 2,
      stable_from: 0,
      duration_ms: 1,
      reused: false,
      live: true,
      points: [
        [60_000, [41]],
        [120_000, [52]],
      ],
      job_id: null,
      owner: null,
    };
    await act(async () => {
      for (const listener of listeners) listener(event);
      for (const listener of listeners) listener({ ...event, spec: "sma(20)", columns: [SMA.key], points: [[120_000, [9]]] }); // not drawn
    });
    expect(rsi?.sets).toBe(1);
    expect(rsi?.data).toEqual([{ time: 60, value: 41 }, { time: 120, value: 52 }]);
    expect(result.valueOf(BARS[1] as Bar, RSI.key)).toBe(52);
    // The live candle is rebuilt from the loaded bucket (with its older RSI): the live value stays.
    await render({ handles: chart.handles, columns: [RSI], bars: [BARS[0] as Bar, bar(120_000, { [RSI.key]: 45 })], live });
    expect(rsi?.data).toEqual([{ time: 60, value: 41 }, { time: 120, value: 52 }]);
  });

  it("does not draw an indicator the series is too short for, and says why", async () => {
    const chart = fakeChart();
    const short = fixtureColumn("rsi(14)", "real", { function: "RSI", minBars: 15, seriesRows: 10 });
    const bars = [bar(60_000, { [SMA.key]: 1, [short.key]: null })];
    await render({ handles: chart.handles, columns: [SMA, short], bars });
    expect(chart.panes).toHaveLength(2);
    expect(result.lines.map((l) => l.column.key)).toEqual([SMA.key]);
    expect(result.shortfalls).toEqual([{ spec: "rsi(14)", text: "RSI(14) needs 15 bars; this series has 10" }]);
  });

  it("removes every series and marker when the indicators go or the component unmounts", async () => {
    const chart = fakeChart();
    await render({ handles: chart.handles, columns: [SMA, RSI, DOJI], bars: BARS });
    await render({ handles: chart.handles, columns: [], bars: BARS });
    expect(chart.layout()).toEqual([["candles"], ["volume"]]);
    expect(chart.markers()).toBeNull();
    expect(chart.drawing()).toBeNull();
    await render({ handles: chart.handles, columns: [RSI, ...MACD], bars: BARS });
    expect(chart.panes).toHaveLength(4);
    await act(async () => root?.unmount());
    root = null;
    expect(chart.layout()).toEqual([["candles"], ["volume"]]);
  });
});
