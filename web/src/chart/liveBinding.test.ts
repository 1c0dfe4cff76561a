// Live bars bound to a fake chart and a fake chart-data endpoint (no canvas, no socket here).
import { makeData, makeVector, Table, tableToIPC, Timestamp, TimeUnit } from "apache-arrow";
import { afterEach, describe, expect, it, vi } from "vitest";

import type { StockUpdate } from "../api/events";
import type { TradingSession } from "../api/types";
import { bindLive, type LiveLoaded, REFRESH_DELAY_MS } from "./liveBinding";
import type { Bar } from "./series";
import type { ChartHandles } from "./useChart";
import type { TimeWindow } from "./window";

const MIN = 60_000;
const T0 = Date.UTC(2024, 2, 12, 14, 30); // 10:30 New York

interface Drawn {
  time: number;
  open?: number;
  close?: number;
  value?: number;
  historical: boolean;
}

function fakeHandles() {
  const candles: Drawn[] = [];
  const volumes: Drawn[] = [];
  const handles = {
    candles: { update: (bar: Drawn, historical = false) => candles.push({ ...bar, historical }) },
    volume: { update: (bar: Drawn, historical = false) => volumes.push({ ...bar, historical }) },
  };
  return { handles: handles as unknown as ChartHandles, candles, volumes };
}

/** A chart-data endpoint answering `bars` (and recording each request body). */
function fakeServer(bars: Bar[], bucket: string) {
  const sent: Record<string, unknown>[] = [];
  const fetchMock = vi.fn(async (_url: string, init: RequestInit) => {
    sent.push(JSON.parse(init.body as string) as Record<string, unknown>);
    const ts = makeVector(makeData({ type: new Timestamp(TimeUnit.MILLISECOND, "UTC"), length: bars.length, data: BigInt64Array.from(bars.map((b) => BigInt(b.ts))) }));
    const column = (name: keyof Bar) => makeVector(Float64Array.from(bars.map((b) => b[name])));
    const ipc = tableToIPC(new Table({ ts, open: column("open"), high: column("high"), low: column("low"), close: column("close"), volume: column("volume") }), "stream");
    const bytes = new Uint8Array(ipc.byteLength);
    bytes.set(ipc);
    return new Response(bytes, { headers: { "Content-Type": "application/vnd.apache.arrow.stream", "X-K2Q-Bucket": bucket, "X-K2Q-Source-Series": "1m" } });
  });
  return { sent, fetchMock };
}

function minute(ts: number, close: number, extra: Partial<StockUpdate> = {}): StockUpdate {
  return {
    type: "stock_update",
    symbol: "DEMO",
    adjusted: true,
    ts,
    open: close,
    high: close + 1,
    low: close - 1,
    close,
    volume: 10,
    vwap: null,
    transactions: null,
    closed: false,
    series: ["1m", "1d"],
    source: "synthetic",
    ...extra,
  };
}

interface Harness {
  emit: (update: StockUpdate) => void;
  loaded: () => LiveLoaded;
  bounds: () => TimeWindow | null;
  stop: () => void;
}

function bind(handles: ChartHandles, initial: LiveLoaded, options: { bounds?: TimeWindow; session?: TradingSession; busy?: () => boolean } = {}): Harness {
  let loaded = initial;
  let bounds: TimeWindow | null = options.bounds ?? { fromMs: 0, toMs: initial.covered.toMs };
  let listener: ((update: StockUpdate) => void) | null = null;
  const stop = bindLive(
    {
      subscribe: (l) => {
        listener = l;
        return () => {
          listener = null;
        };
      },
    },
    {
      handles,
      loaded: () => loaded,
      setLoaded: (next) => {
        loaded = next;
      },
      params: () => ({ table: "demo", adjusted: true, session: options.session ?? "extended", bounds }),
      extendBounds: (toMs) => {
        if (bounds !== null && toMs > bounds.toMs) bounds = { ...bounds, toMs };
      },
      busy: options.busy ?? (() => false),
      generation: () => 1,
    },
  );
  return { emit: (u) => listener?.(u), loaded: () => loaded, bounds: () => bounds, stop };
}

const fiveMinute = (): LiveLoaded => ({
  bars: [
    { ts: T0 - 5 * MIN, open: 1, high: 2, low: 0.5, close: 1.5, volume: 100 },
    { ts: T0, open: 1.5, high: 3, low: 1, close: 2, volume: 50 },
  ],
  timesMs: [T0 - 5 * MIN, T0],
  covered: { fromMs: T0 - 5 * MIN, toMs: T0 + 2 * MIN },
  bucket: "5m",
  sourceSeries: "1m",
});

afterEach(() => {
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

describe("bindLive", () => {
  it("merges the forming minute into the last bar and draws it", () => {
    const chart = fakeHandles();
    const live = bind(chart.handles, fiveMinute());
    live.emit(minute(T0 + 2 * MIN, 4, { volume: 5 }));
    expect(chart.candles).toEqual([{ time: T0 / 1000, open: 1.5, high: 5, low: 1, close: 4, historical: false }]);
    expect(chart.volumes.map((v) => v.value)).toEqual([55]);
    expect(live.loaded().bars[1]).toEqual({ ts: T0, open: 1.5, high: 5, low: 1, close: 4, volume: 55 });
    live.emit(minute(T0 + 5 * MIN, 6, { volume: 3 }));
    expect(live.loaded().bars).toHaveLength(3);
    expect(live.loaded().timesMs).toEqual([T0 - 5 * MIN, T0, T0 + 5 * MIN]);
    live.stop();
  });

  it("reloads the last bucket after a minute closes, and keeps the forming minute on top", async () => {
    vi.useFakeTimers();
    const exact: Bar = { ts: T0, open: 1.5, high: 6, low: 1, close: 5, volume: 61 };
    const server = fakeServer([exact], "5m");
    vi.stubGlobal("fetch", server.fetchMock);
    const chart = fakeHandles();
    const live = bind(chart.handles, fiveMinute());
    live.emit(minute(T0 + 2 * MIN, 5, { closed: true, volume: 11 }));
    expect(live.bounds()?.toMs).toBe(T0 + 3 * MIN);
    live.emit(minute(T0 + 3 * MIN, 4, { volume: 2 }));
    expect(live.loaded().bars[1]?.volume).toBe(63); // 50 + 11 + 2: optimistic
    await vi.advanceTimersByTimeAsync(REFRESH_DELAY_MS + 10);
    expect(server.sent).toHaveLength(1);
    expect(server.sent[0]).toMatchObject({ table: "demo", timeframe: "5m", from: T0, to: T0 + 3 * MIN, adjusted: true });
    // The server's bar (which holds the closed minute) plus the forming one.
    expect(live.loaded().bars[1]).toEqual({ ts: T0, open: 1.5, high: 6, low: 1, close: 4, volume: 63 });
    expect(chart.volumes.map((v) => v.value).slice(-2)).toEqual([61, 63]);
    live.stop();
  });

  it("waits for a slice request in flight before reloading", async () => {
    vi.useFakeTimers();
    const server = fakeServer([{ ts: T0, open: 1, high: 1, low: 1, close: 1, volume: 1 }], "5m");
    vi.stubGlobal("fetch", server.fetchMock);
    let busy = true;
    const live = bind(fakeHandles().handles, fiveMinute(), { busy: () => busy });
    live.emit(minute(T0 + 2 * MIN, 5, { closed: true }));
    await vi.advanceTimersByTimeAsync(REFRESH_DELAY_MS + 10);
    expect(server.sent).toHaveLength(0);
    busy = false;
    await vi.advanceTimersByTimeAsync(1000);
    expect(server.sent).toHaveLength(1);
    live.stop();
  });

  it("ignores bars of other series, hidden sessions and a chart scrolled into the past", () => {
    const chart = fakeHandles();
    const hourly = bind(chart.handles, { ...fiveMinute(), sourceSeries: "1h" });
    hourly.emit(minute(T0 + 2 * MIN, 4));
    hourly.stop();
    const regular = bind(chart.handles, fiveMinute(), { session: "regular" });
    regular.emit(minute(Date.UTC(2024, 2, 12, 21, 0), 4)); // 17:00 New York
    regular.stop();
    const past = bind(chart.handles, fiveMinute(), { bounds: { fromMs: 0, toMs: T0 + 60 * MIN } });
    past.emit(minute(T0 + 61 * MIN, 4, { closed: true }));
    expect(past.bounds()?.toMs).toBe(T0 + 62 * MIN); // the dataset grew, the bars on the chart did not
    past.stop();
    expect(chart.candles).toEqual([]);
  });
});
