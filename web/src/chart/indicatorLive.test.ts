import { describe, expect, it } from "vitest";

import type { IndicatorCalculated } from "../api/events";
import { type ChartedSeries, LIVE_BUCKETS_KEPT, liveEventApplies, liveValueOf, parseIndicatorCalculated, withLivePoints } from "./indicatorLive";
import type { Bar } from "./series";

const EVENT: IndicatorCalculated = {
  type: "indicator_calculated",
  symbol: "DEMO",
  adjusted: true,
  series: "1m",
  session: "extended",
  timeframe: "1m",
  spec: "macd",
  columns: ["ind:macd:macd", "ind:macd:macdsignal"],
  rows: 500,
  stable_from: 0,
  duration_ms: 1.5,
  reused: false,
  live: true,
  points: [
    [60_000, [1.5, null]],
    [120_000, [1.75, 1.25]],
  ],
  job_id: null,
  owner: null,
};
const CHART: ChartedSeries = { symbol: "DEMO", adjusted: true, bucket: "1m", session: "extended", intraday: true };
const DRAWN = new Set(["macd"]);

describe("parseIndicatorCalculated", () => {
  it("reads the event and nothing else", () => {
    expect(parseIndicatorCalculated(JSON.stringify(EVENT))).toEqual(EVENT);
    expect(parseIndicatorCalculated(JSON.stringify({ ...EVENT, type: "stock_update" }))).toBeNull();
    expect(parseIndicatorCalculated(JSON.stringify({ ...EVENT, points: [[1, "x"]] }))).toBeNull();
    expect(parseIndicatorCalculated("not json")).toBeNull();
  });

  it("reads an event without points or `live` as a calculation, not a live extension", () => {
    const rest: Partial<IndicatorCalculated> = { ...EVENT };
    delete rest.points;
    delete rest.live;
    expect(parseIndicatorCalculated(JSON.stringify(rest))).toMatchObject({ points: [], live: false });
  });
});

describe("liveEventApplies", () => {
  it("applies a live extension of a drawn spec of the charted series at the chart's bucket", () => {
    expect(liveEventApplies(EVENT, CHART, DRAWN)).toBe(true);
  });

  it("ignores other symbols, adjustments, buckets, sessions, specs and calculations that are not live", () => {
    expect(liveEventApplies({ ...EVENT, symbol: "AAPL" }, CHART, DRAWN)).toBe(false);
    expect(liveEventApplies({ ...EVENT, adjusted: false }, CHART, DRAWN)).toBe(false);
    expect(liveEventApplies({ ...EVENT, timeframe: "5m" }, CHART, DRAWN)).toBe(false);
    expect(liveEventApplies({ ...EVENT, session: "regular" }, CHART, DRAWN)).toBe(false);
    expect(liveEventApplies({ ...EVENT, spec: "rsi" }, CHART, DRAWN)).toBe(false);
    expect(liveEventApplies({ ...EVENT, live: false }, CHART, DRAWN)).toBe(false);
    expect(liveEventApplies({ ...EVENT, points: [] }, CHART, DRAWN)).toBe(false);
  });

  it("does not tell sessions apart for daily buckets", () => {
    const daily = { ...CHART, bucket: "1d", intraday: false, session: "regular" as const };
    expect(liveEventApplies({ ...EVENT, timeframe: "1d" }, daily, DRAWN)).toBe(true);
  });
});

describe("live values", () => {
  const bar = (ts: number, macd: number | null): Bar => ({ ts, open: 1, high: 1, low: 1, close: 1, volume: 0, extra: { "ind:macd:macd": macd, "ind:macd:macdsignal": null } });

  it("are read over the loaded values of their buckets, per output", () => {
    const live = withLivePoints(new Map(), EVENT);
    const valueOf = liveValueOf(live);
    expect(valueOf(bar(60_000, 9), "ind:macd:macd")).toBe(1.5);
    expect(valueOf(bar(60_000, 9), "ind:macd:macdsignal")).toBeNull();
    expect(valueOf(bar(120_000, 9), "ind:macd:macdsignal")).toBe(1.25);
    expect(valueOf(bar(0, 9), "ind:macd:macd")).toBe(9);
  });

  it("take a later event's value for the same bucket, and keep only the newest buckets", () => {
    const first = withLivePoints(new Map(), EVENT);
    const second = withLivePoints(first, { ...EVENT, points: [[120_000, [2, 1.5]]] });
    expect(liveValueOf(second)(bar(120_000, null), "ind:macd:macd")).toBe(2);
    expect(liveValueOf(first)(bar(120_000, null), "ind:macd:macd")).toBe(1.75); // not changed in place
    const many = Array.from({ length: LIVE_BUCKETS_KEPT + 5 }, (_, i): [number, (number | null)[]] => [i * 60_000, [i, i]]);
    const kept = withLivePoints(new Map(), { ...EVENT, points: many }).get("ind:macd:macd");
    expect(kept?.size).toBe(LIVE_BUCKETS_KEPT);
    expect(kept?.has(0)).toBe(false);
  });
});
