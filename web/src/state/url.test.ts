import { describe, expect, it } from "vitest";

import { newIndicator } from "./indicators";
import { analysisHref, EMPTY_QUERY, parseAnalysisQuery, serializeAnalysisQuery } from "./url";

describe("parseAnalysisQuery", () => {
  it("reads a full query", () => {
    const q = parseAnalysisQuery(new URLSearchParams("table=aapl_day&tf=1d&from=1700000000000&to=1710000000000"));
    expect(q).toEqual({ table: "aapl_day", tf: "1d", from: 1700000000000, to: 1710000000000, session: "extended", indicators: [], run: null, compare: null, projections: [] });
  });

  it("drops an unknown timeframe and a reversed or partial window", () => {
    expect(parseAnalysisQuery(new URLSearchParams("table=x&tf=2d&from=5&to=1"))).toEqual({ table: "x", tf: null, from: null, to: null, session: "extended", indicators: [], run: null, compare: null, projections: [] });
    expect(parseAnalysisQuery(new URLSearchParams("from=5")).from).toBeNull();
    expect(parseAnalysisQuery(new URLSearchParams("from=abc&to=10")).from).toBeNull();
  });

  it("keeps 1M (month) distinct from 1m (minute)", () => {
    expect(parseAnalysisQuery(new URLSearchParams("tf=1M")).tf).toBe("1M");
    expect(parseAnalysisQuery(new URLSearchParams("tf=1m")).tf).toBe("1m");
  });

  it("reads auto and the session", () => {
    const q = parseAnalysisQuery(new URLSearchParams("tf=auto&session=regular"));
    expect(q.tf).toBe("auto");
    expect(q.session).toBe("regular");
    expect(parseAnalysisQuery(new URLSearchParams("session=overnight")).session).toBe("extended");
    expect(serializeAnalysisQuery(q).toString()).toBe("tf=auto&session=regular");
  });

  it("reads indicators, one `ind` each, normalised, deduplicated, without malformed ones", () => {
    const q = parseAnalysisQuery(new URLSearchParams("table=t&ind=SMA(20)&ind=rsi&ind=sma( 20 )&ind=__import__('os')&ind=&ind=bbands(20,2,2)"));
    expect(q.indicators.map((i) => i.spec)).toEqual(["sma(20)", "rsi", "bbands(20,2,2)"]);
    expect(q.indicators.every((i) => !i.hidden && i.color === null)).toBe(true);
    expect(serializeAnalysisQuery(q).getAll("ind")).toEqual(["sma(20)", "rsi", "bbands(20,2,2)"]);
  });

  it("keeps at most 20 indicators", () => {
    const many = Array.from({ length: 25 }, (_, i) => `ind=sma(${i + 2})`).join("&");
    expect(parseAnalysisQuery(new URLSearchParams(many)).indicators).toHaveLength(20);
  });

  it("treats an empty table as none", () => {
    expect(parseAnalysisQuery(new URLSearchParams("table=")).table).toBeNull();
  });
});

describe("serializeAnalysisQuery", () => {
  it("round-trips", () => {
    const q = { table: "spy minute", tf: "5m" as const, from: 1, to: 2, session: "regular" as const, indicators: ["sma(20)", "bbands(20,2,2)", "rsi"].map(newIndicator), run: null, compare: null, projections: [] };
    expect(parseAnalysisQuery(serializeAnalysisQuery(q))).toEqual(q);
  });

  it("omits empty parts and rounds times", () => {
    expect(serializeAnalysisQuery({ table: "t", tf: null, from: 1.4, to: 9.6, session: "extended", indicators: [], run: null, compare: null, projections: [] }).toString()).toBe("table=t&from=1&to=10");
    expect(serializeAnalysisQuery({ table: null, tf: "1h", from: 3, to: null, session: "extended", indicators: [], run: null, compare: null, projections: [] }).toString()).toBe("tf=1h");
  });

  it("round-trips indicators through a URL string, as a shared link does", () => {
    const q = { table: "demo", tf: "1d" as const, from: null, to: null, session: "extended" as const, indicators: ["sma(20)", "macd(12,26,9)", "rsi"].map(newIndicator), run: null, compare: null, projections: [] };
    const link = `/analysis?${serializeAnalysisQuery(q).toString()}`;
    expect(parseAnalysisQuery(new URL(link, "http://x").searchParams)).toEqual(q);
    // Links from before indicators could be hidden or coloured read the same.
    expect(parseAnalysisQuery(new URLSearchParams("table=demo&tf=1d&ind=sma(20)&ind=macd(12,26,9)&ind=rsi"))).toEqual(q);
  });

  it("round-trips hidden indicators and colours, in order", () => {
    const indicators = [
      { spec: "rsi(14)", hidden: true, color: null },
      { spec: "ema(50)", hidden: false, color: "#c084fc" },
      { spec: "avwap(2024-03-01)", hidden: true, color: "#22d3ee" },
      { spec: "macd(fastperiod=8,slowperiod=21)", hidden: false, color: null },
    ];
    const q = { table: "demo", tf: "1d" as const, from: null, to: null, session: "extended" as const, indicators, run: null, compare: null, projections: [] };
    const params = serializeAnalysisQuery(q);
    expect(params.getAll("ind")).toEqual(["rsi(14);hide", "ema(50);c=c084fc", "avwap(2024-03-01);c=22d3ee;hide", "macd(fastperiod=8,slowperiod=21)"]);
    expect(parseAnalysisQuery(new URL(`/analysis?${params.toString()}`, "http://x").searchParams)).toEqual(q);
  });

  it("round-trips a run and the run compared with it, after everything else", () => {
    const q = { ...EMPTY_QUERY, table: "demo", tf: "1d" as const, run: "r-01HZX", compare: "r_02" };
    const params = serializeAnalysisQuery(q);
    expect(params.toString()).toBe("table=demo&tf=1d&run=r-01HZX&cmp=r_02");
    expect(parseAnalysisQuery(new URL(`/analysis?${params.toString()}`, "http://x").searchParams)).toEqual(q);
  });

  it("drops a malformed run id, a comparison without a run, and a run compared with itself", () => {
    expect(parseAnalysisQuery(new URLSearchParams("run=../etc&cmp=r2"))).toMatchObject({ run: null, compare: null, projections: [] });
    expect(parseAnalysisQuery(new URLSearchParams("cmp=r2")).compare).toBeNull();
    expect(parseAnalysisQuery(new URLSearchParams("run=r1&cmp=r1"))).toMatchObject({ run: "r1", compare: null });
    expect(parseAnalysisQuery(new URLSearchParams(`run=${"x".repeat(101)}`)).run).toBeNull();
    expect(serializeAnalysisQuery({ ...EMPTY_QUERY, compare: "r2" }).toString()).toBe("");
  });

  it("round-trips the projections drawn, in order, as one comma-separated parameter", () => {
    const q = { ...EMPTY_QUERY, table: "demo", tf: "1d" as const, projections: ["p2", "a1b2"] };
    const params = serializeAnalysisQuery(q);
    expect(params.toString()).toBe("table=demo&tf=1d&proj=p2%2Ca1b2");
    expect(parseAnalysisQuery(new URL(`/analysis?${params.toString()}`, "http://x").searchParams)).toEqual(q);
    expect(serializeAnalysisQuery(EMPTY_QUERY).has("proj")).toBe(false);
  });

  it("keeps well-formed projection ids, each once, at most ten", () => {
    expect(parseAnalysisQuery(new URLSearchParams("proj=a,,../x,a,b")).projections).toEqual(["a", "b"]);
    const many = Array.from({ length: 12 }, (_, i) => `p${i}`);
    expect(parseAnalysisQuery(new URLSearchParams(`proj=${many.join(",")}`)).projections).toEqual(many.slice(0, 10));
  });

  it("builds links to a dataset", () => {
    expect(analysisHref("aapl_1_day", "1d")).toBe("/analysis?table=aapl_1_day&tf=1d");
  });
});
