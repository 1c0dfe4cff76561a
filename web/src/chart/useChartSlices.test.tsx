// @vitest-environment jsdom
// The slice-loading hook against a fake chart (no canvas here) and a fake chart-data endpoint.
import { makeData, makeVector, Table, tableToIPC, Timestamp, TimeUnit } from "apache-arrow";
import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { bucketMs } from "../state/timeframe";
import type { RejectedIndicator } from "./indicators";
import { sliceWithIndicators, sliceWithProjections } from "./sliceFixture";
import { estimateBucketMs, type TimeWindow } from "./window";
import type { ChartHandles } from "./useChart";
import { DEBOUNCE_MS, type SliceParams, type SliceState, useChartSlices } from "./useChartSlices";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const MIN = 60_000;
const DAY = 86_400_000;
const BOUNDS: TimeWindow = { fromMs: 0, toMs: 3650 * DAY };
const LADDER_NAMES: Record<number, string> = { [MIN]: "1m", [5 * MIN]: "5m", [15 * MIN]: "15m", [30 * MIN]: "30m", [60 * MIN]: "1h", [240 * MIN]: "4h", [DAY]: "1d", [7 * DAY]: "1w", [30 * DAY]: "1M" };

type Range = { from: number; to: number };

/** Just enough of lightweight-charts for the hook: a time scale with a logical range, and series. */
function fakeChart() {
  let bars = 0;
  let range: Range | null = null;
  const handlers = new Set<(r: Range | null) => void>();
  const set = (r: Range | null): void => {
    range = r;
    for (const h of handlers) h(r);
  };
  const timeScale = {
    width: () => 800,
    getVisibleLogicalRange: () => range,
    setVisibleLogicalRange: (r: Range) => set(r),
    fitContent: () => set({ from: 0, to: Math.max(0, bars - 1) }),
    subscribeVisibleLogicalRangeChange: (h: (r: Range | null) => void) => handlers.add(h),
    unsubscribeVisibleLogicalRangeChange: (h: (r: Range | null) => void) => handlers.delete(h),
  };
  const handles = {
    chart: { timeScale: () => timeScale, applyOptions: () => undefined },
    candles: { setData: (d: unknown[]) => (bars = d.length), applyOptions: () => undefined },
    volume: { setData: () => undefined },
    container: document.createElement("div"),
  };
  return { handles: handles as unknown as ChartHandles, user: set, range: () => range, bars: () => bars };
}

interface Sent {
  body: { table: string; timeframe?: string; from: number; to: number; max_points: number; adjusted: boolean; session: string; indicators?: string[] };
  signal: AbortSignal | null;
}

/** The fake server's indicator values: the bar's time in minutes (the same in every slice, as when warmed up). */
const indicatorValue = (ts: number): number => ts / MIN;
/** Specs the fake server refuses, as the real one does: a 422 whose reason names no spec. */
const BAD_SPEC = "nosuch(3)";

/** A chart-data endpoint with bars at every ladder bucket in the window (and one column per indicator asked for). */
function fakeServer(delayMs = 5) {
  const sent: Sent[] = [];
  const fetchMock = vi.fn(async (_url: string, init: RequestInit) => {
    const body = JSON.parse(init.body as string) as Sent["body"];
    sent.push({ body, signal: init.signal ?? null });
    if (body.indicators?.includes(BAD_SPEC) === true) {
      const problem = { title: "Unprocessable Content", status: 422, detail: "unknown indicator 'nosuch': not a TA-Lib function" };
      return new Response(JSON.stringify(problem), { status: 422, headers: { "Content-Type": "application/problem+json" } });
    }
    const bucket = estimateBucketMs({ fromMs: body.from, toMs: body.to }, body.max_points, bucketMs(body.timeframe) ?? MIN);
    const times: bigint[] = [];
    for (let t = Math.ceil(body.from / bucket) * bucket; t < body.to; t += bucket) times.push(BigInt(t));
    const ts = makeVector(makeData({ type: new Timestamp(TimeUnit.MILLISECOND, "UTC"), length: times.length, data: BigInt64Array.from(times) }));
    const ones = () => makeVector(new Float64Array(times.length).fill(1));
    const indicators = (body.indicators ?? []).map((spec) => ({ spec, output: "real", overlay: spec.startsWith("sma"), values: times.map((t) => indicatorValue(Number(t))) }));
    const table =
      indicators.length > 0
        ? sliceWithIndicators(times.map(Number), times.map(() => 1), indicators)
        : new Table({ ts, open: ones(), high: ones(), low: ones(), close: ones(), volume: ones() });
    const ipc = tableToIPC(table, "stream");
    const bytes = new Uint8Array(ipc.byteLength);
    bytes.set(ipc);
    await new Promise((r) => setTimeout(r, delayMs));
    if (init.signal?.aborted === true) throw new DOMException("aborted", "AbortError");
    return new Response(bytes, { headers: { "Content-Type": "application/vnd.apache.arrow.stream", "X-K2Q-Bucket": LADDER_NAMES[bucket] ?? "1d" } });
  });
  return { sent, fetchMock };
}

let root: Root | null = null;
let latest: SliceState | null = null;
/** Keeps what the hook returned (outside the component: a render must not assign outer variables). */
function record(returned: SliceState): void {
  latest = returned;
}

function Harness({ handles, params }: { handles: ChartHandles; params: SliceParams }) {
  record(useChartSlices(handles, params));
  return null;
}

async function mount(handles: ChartHandles, params: SliceParams): Promise<void> {
  const el = document.createElement("div");
  root = createRoot(el);
  await act(async () => root?.render(<Harness handles={handles} params={params} />));
}

async function rerender(handles: ChartHandles, params: SliceParams): Promise<void> {
  await act(async () => root?.render(<Harness handles={handles} params={params} />));
}

const settle = (ms = 40) => act(async () => new Promise((r) => setTimeout(r, ms)));

beforeEach(() => {
  latest = null;
});

afterEach(async () => {
  await act(async () => root?.unmount());
  root = null;
  vi.unstubAllGlobals();
});

describe("useChartSlices", () => {
  const params: SliceParams = { table: "demo", timeframe: "1m", finestMs: MIN, adjusted: true, session: "extended", bounds: BOUNDS, initialView: null };

  it("loads the whole dataset first, with a pixel budget, and fits it", async () => {
    const server = fakeServer();
    vi.stubGlobal("fetch", server.fetchMock);
    const chart = fakeChart();
    await mount(chart.handles, params);
    await settle();
    expect(server.sent[0]?.body).toEqual({ table: "demo", timeframe: "1m", from: 0, to: BOUNDS.toMs, max_points: 1600, adjusted: true, session: "extended" });
    expect(latest?.bucket).toBe("1w");
    expect(latest?.bars).toBe(chart.bars());
    expect(latest?.loading).toBe(false);
    expect(chart.range()).toEqual({ from: 0, to: chart.bars() - 1 });
    await settle(DEBOUNCE_MS + 50);
    expect(server.sent).toHaveLength(1); // nothing to do while everything is in view
  });

  it("zooming in loads a finer, padded slice and keeps the visible time range", async () => {
    const server = fakeServer();
    vi.stubGlobal("fetch", server.fetchMock);
    const chart = fakeChart();
    const views: TimeWindow[] = [];
    await mount(chart.handles, { ...params, onViewChange: (v) => views.push(v) });
    await settle();
    const week = 7 * DAY;
    await act(async () => chart.user({ from: 100, to: 110 })); // weeks 100 … 110
    await settle(DEBOUNCE_MS + 60);
    const second = server.sent[1]?.body;
    expect(second).toEqual({ table: "demo", timeframe: "1m", from: 90 * week, to: 120 * week, max_points: 1600, adjusted: true, session: "extended" });
    expect(latest?.bucket).toBe("4h");
    expect(views[0]).toEqual({ fromMs: 100 * week, toMs: 110 * week });
    const range = chart.range();
    expect(range?.from).toBeCloseTo((10 * week) / (240 * MIN), 6);
    expect(range?.to).toBeCloseTo((20 * week) / (240 * MIN), 6);
    await settle(DEBOUNCE_MS + 60);
    expect(server.sent).toHaveLength(2); // and does not loop
  });

  it("aborts a slice in flight when a newer one starts", async () => {
    const server = fakeServer(400);
    vi.stubGlobal("fetch", server.fetchMock);
    const chart = fakeChart();
    await mount(chart.handles, params);
    await settle(450);
    await act(async () => chart.user({ from: 100, to: 110 }));
    await settle(DEBOUNCE_MS + 20); // the zoom's slice is now in flight
    expect(server.sent).toHaveLength(2);
    expect(latest?.loading).toBe(true);
    await act(async () => chart.user({ from: 300, to: 305 }));
    await settle(DEBOUNCE_MS + 20);
    expect(server.sent).toHaveLength(3);
    expect(server.sent[1]?.signal?.aborted).toBe(true);
    await settle(450);
    expect(server.sent[2]?.signal?.aborted).toBe(false);
    expect(latest?.loading).toBe(false);
    expect(latest?.bucket).toBe("4h");
  });

  it("opens a shared window padded, showing exactly that window", async () => {
    const server = fakeServer();
    vi.stubGlobal("fetch", server.fetchMock);
    const chart = fakeChart();
    const view = { fromMs: 1000 * DAY, toMs: 1010 * DAY };
    await mount(chart.handles, { ...params, initialView: view });
    await settle();
    expect(server.sent[0]?.body.from).toBe(990 * DAY);
    expect(server.sent[0]?.body.to).toBe(1020 * DAY);
    const bucket = 30 * MIN; // 30 days / 1600 points → 30m
    expect(latest?.bucket).toBe("30m");
    expect(chart.range()?.from).toBeCloseTo((10 * DAY) / bucket, 6);
  });

  it("panning near the left edge prepends the slice before it, at the same bucket, without moving the view", async () => {
    const server = fakeServer();
    vi.stubGlobal("fetch", server.fetchMock);
    const chart = fakeChart();
    await mount(chart.handles, { ...params, initialView: { fromMs: 1000 * DAY, toMs: 1010 * DAY } });
    await settle();
    expect(latest?.bucket).toBe("30m");
    expect(latest?.bars).toBe(1440); // 990 … 1020 days at 30m
    await act(async () => chart.user({ from: 100, to: 580 })); // within 10% of the first bar
    await settle();
    expect(server.sent[1]?.body).toEqual({
      table: "demo",
      timeframe: "30m",
      from: 960 * DAY,
      to: 990 * DAY - 1,
      max_points: 1442,
      adjusted: true,
      session: "extended",
    });
    expect(latest?.bars).toBe(2880);
    expect(latest?.data[0]?.ts).toBe(960 * DAY);
    expect(latest?.bucket).toBe("30m");
    expect(chart.range()).toEqual({ from: 1540, to: 2020 });
    await settle(DEBOUNCE_MS + 60);
    expect(server.sent).toHaveLength(2); // in view, far from both edges: nothing more
  });

  it("panning near the right edge appends once the view settles", async () => {
    const server = fakeServer();
    vi.stubGlobal("fetch", server.fetchMock);
    const chart = fakeChart();
    await mount(chart.handles, { ...params, initialView: { fromMs: 1000 * DAY, toMs: 1010 * DAY } });
    await settle();
    await act(async () => chart.user({ from: 900, to: 1400 }));
    await settle(20);
    expect(server.sent).toHaveLength(1);
    await settle(DEBOUNCE_MS + 60);
    expect(server.sent[1]?.body).toMatchObject({ timeframe: "30m", from: 1020 * DAY - 30 * MIN, to: 1050 * DAY });
    expect(latest?.bars).toBe(2880);
    expect(latest?.data[0]?.ts).toBe(990 * DAY);
    expect(chart.range()).toEqual({ from: 900, to: 1400 });
  });

  it("keeps one extension in flight and drops it when the timeframe changes", async () => {
    const server = fakeServer(200);
    vi.stubGlobal("fetch", server.fetchMock);
    const chart = fakeChart();
    const shared = { ...params, initialView: { fromMs: 1000 * DAY, toMs: 1010 * DAY } };
    await mount(chart.handles, shared);
    await settle(250);
    await act(async () => chart.user({ from: 100, to: 580 }));
    await act(async () => chart.user({ from: 50, to: 530 }));
    await act(async () => chart.user({ from: 10, to: 490 }));
    await settle(20);
    expect(server.sent).toHaveLength(2);
    expect(latest?.extending).toBe("left");
    await rerender(chart.handles, { ...shared, timeframe: "1h" });
    await settle(20);
    expect(server.sent[1]?.signal?.aborted).toBe(true);
    expect(server.sent[2]?.body.timeframe).toBe("1h");
    await settle(300);
    expect(latest?.bucket).toBe("1h");
    expect(latest?.extending).toBeNull();
    expect(latest?.bars).toBe(chart.bars());
  });

  it("asks for the indicators with the first slice and every extension, and keeps their values on the merged bars", async () => {
    const server = fakeServer();
    vi.stubGlobal("fetch", server.fetchMock);
    const chart = fakeChart();
    await mount(chart.handles, { ...params, initialView: { fromMs: 1000 * DAY, toMs: 1010 * DAY }, indicators: ["sma(20)", "rsi"] });
    await settle();
    expect(server.sent[0]?.body.indicators).toEqual(["sma(20)", "rsi"]);
    expect(latest?.indicators.map((c) => [c.key, c.overlay])).toEqual([
      ["ind:sma(20):real", true],
      ["ind:rsi:real", false],
    ]);
    await act(async () => chart.user({ from: 100, to: 580 })); // near the left edge: an extension
    await settle();
    expect(server.sent[1]?.body).toMatchObject({ timeframe: "30m", to: 990 * DAY - 1, indicators: ["sma(20)", "rsi"] });
    expect(latest?.bars).toBe(2880);
    const data = latest?.data ?? [];
    expect(data.every((b) => b.extra?.["ind:sma(20):real"] === indicatorValue(b.ts) && b.extra["ind:rsi:real"] === indicatorValue(b.ts))).toBe(true);
  });

  it("sends no indicators field without indicators", async () => {
    const server = fakeServer();
    vi.stubGlobal("fetch", server.fetchMock);
    await mount(fakeChart().handles, { ...params, indicators: [] });
    await settle();
    expect("indicators" in (server.sent[0]?.body ?? {})).toBe(false);
    expect(latest?.indicators).toEqual([]);
  });

  it("a new list of indicators reloads the window in view", async () => {
    const server = fakeServer();
    vi.stubGlobal("fetch", server.fetchMock);
    const chart = fakeChart();
    const shared = { ...params, initialView: { fromMs: 1000 * DAY, toMs: 1010 * DAY } };
    await mount(chart.handles, shared);
    await settle();
    const before = chart.range();
    await rerender(chart.handles, { ...shared, indicators: ["ema(50)"] });
    await settle();
    expect(server.sent).toHaveLength(2);
    expect(server.sent[1]?.body).toMatchObject({ from: 990 * DAY, to: 1020 * DAY, indicators: ["ema(50)"] });
    expect(latest?.indicators.map((c) => c.key)).toEqual(["ind:ema(50):real"]);
    expect(chart.range()?.from).toBeCloseTo(before?.from ?? NaN, 6);
    await rerender(chart.handles, { ...shared, indicators: ["ema(50)"] });
    await settle(DEBOUNCE_MS + 60);
    expect(server.sent).toHaveLength(2); // the same list again: nothing to load
  });

  it("finds a spec the server refuses, hands it over instead of failing the chart, and loads without it", async () => {
    const server = fakeServer();
    vi.stubGlobal("fetch", server.fetchMock);
    const chart = fakeChart();
    const rejected: RejectedIndicator[][] = [];
    const shared = { ...params, initialView: { fromMs: 1000 * DAY, toMs: 1010 * DAY }, onRejectedIndicators: (r: RejectedIndicator[]) => rejected.push(r) };
    await mount(chart.handles, { ...shared, indicators: ["sma(20)", BAD_SPEC] });
    await settle();
    // The slice, then each spec alone over the window's last millisecond.
    expect(server.sent.map((s) => s.body.indicators)).toEqual([["sma(20)", BAD_SPEC], ["sma(20)"], [BAD_SPEC]]);
    expect(server.sent[1]?.body).toMatchObject({ from: 1020 * DAY - 1, to: 1020 * DAY, max_points: 2 });
    expect(rejected).toEqual([[{ spec: BAD_SPEC, reason: "unknown indicator 'nosuch': not a TA-Lib function" }]]);
    expect(latest?.error).toBeNull();
    expect(latest?.loading).toBe(false);
    // The page drops it: the slice loads with the rest.
    await rerender(chart.handles, { ...shared, indicators: ["sma(20)"] });
    await settle();
    expect(server.sent[3]?.body).toMatchObject({ from: 990 * DAY, to: 1020 * DAY, indicators: ["sma(20)"] });
    expect(latest?.bars).toBe(1440);
    expect(latest?.indicators.map((c) => c.key)).toEqual(["ind:sma(20):real"]);
  });

  it("shows a refusal as the chart error when nobody drops refused specs", async () => {
    const server = fakeServer();
    vi.stubGlobal("fetch", server.fetchMock);
    await mount(fakeChart().handles, { ...params, indicators: [BAD_SPEC] });
    await settle();
    // Without a handler for refused specs, the refusal is the chart's error (and nothing is probed).
    expect(latest?.error).toMatch(/not a TA-Lib function/);
    expect(server.sent).toHaveLength(1);
  });

  it("omits the timeframe in Auto and reports the server's pick", async () => {
    const server = fakeServer();
    vi.stubGlobal("fetch", server.fetchMock);
    const chart = fakeChart();
    await mount(chart.handles, { ...params, timeframe: null });
    await settle();
    expect("timeframe" in (server.sent[0]?.body ?? {})).toBe(false);
    expect(latest?.bucket).toBe("1w");
  });

  it("asks for projections, keeps their future rows apart and never makes candles of them; other projections reload", async () => {
    const sent: { projections?: string[] }[] = [];
    const fetchMock = vi.fn(async (_url: string, init: RequestInit) => {
      const body = JSON.parse(init.body as string) as { projections?: string[] };
      sent.push(body);
      const ts = [0, 1, 2, 3, 4].map((i) => 3000 * DAY + i * DAY);
      const ids = body.projections ?? [];
      const table = sliceWithProjections(ts, [10, 11, 12, null, null], ids.map((id) => ({ id, median: [null, null, 12, 13, 14], lower: [null, null, 12, 12, 12], upper: [null, null, 12, 14, 16] })));
      const ipc = tableToIPC(table, "stream");
      return new Response(ipc.slice(), { headers: { "Content-Type": "application/vnd.apache.arrow.stream", "X-K2Q-Bucket": "1d" } });
    });
    vi.stubGlobal("fetch", fetchMock);
    const chart = fakeChart();
    const daily: SliceParams = { ...params, timeframe: "1d", finestMs: DAY, bounds: { fromMs: 3000 * DAY, toMs: 3003 * DAY } };
    await mount(chart.handles, { ...daily, projections: ["p1"] });
    await settle();
    expect(sent[0]?.projections).toEqual(["p1"]);
    expect(chart.bars()).toBe(3); // the candles: the real bars alone
    expect(latest?.bars).toBe(3);
    expect(latest?.lastBar?.close).toBe(12);
    expect(latest?.data[2]?.extra?.["proj:p1:median"]).toBe(12);
    expect(latest?.future.map((f) => [f.ts, f.extra["proj:p1:median"]])).toEqual([
      [3003 * DAY, 13],
      [3004 * DAY, 14],
    ]);
    await rerender(chart.handles, { ...daily, projections: [] });
    await settle();
    expect(sent).toHaveLength(2);
    expect("projections" in (sent[1] ?? {})).toBe(false);
    expect(latest?.future).toEqual([]);
    expect(chart.bars()).toBe(3);
  });
});
