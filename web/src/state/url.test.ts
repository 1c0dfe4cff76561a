import { describe, expect, it } from "vitest";

import { analysisHref, parseAnalysisQuery, serializeAnalysisQuery } from "./url";

describe("parseAnalysisQuery", () => {
  it("reads a full query", () => {
    const q = parseAnalysisQuery(new URLSearchParams("table=aapl_day&tf=1d&from=1700000000000&to=1710000000000"));
    expect(q).toEqual({ table: "aapl_day", tf: "1d", from: 1700000000000, to: 1710000000000, session: "extended" });
  });

  it("drops an unknown timeframe and a reversed or partial window", () => {
    expect(parseAnalysisQuery(new URLSearchParams("table=x&tf=2d&from=5&to=1"))).toEqual({ table: "x", tf: null, from: null, to: null, session: "extended" });
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

  it("treats an empty table as none", () => {
    expect(parseAnalysisQuery(new URLSearchParams("table=")).table).toBeNull();
  });
});

describe("serializeAnalysisQuery", () => {
  it("round-trips", () => {
    const q = { table: "spy minute", tf: "5m" as const, from: 1, to: 2, session: "regular" as const };
    expect(parseAnalysisQuery(serializeAnalysisQuery(q))).toEqual(q);
  });

  it("omits empty parts and rounds times", () => {
    expect(serializeAnalysisQuery({ table: "t", tf: null, from: 1.4, to: 9.6, session: "extended" }).toString()).toBe("table=t&from=1&to=10");
    expect(serializeAnalysisQuery({ table: null, tf: "1h", from: 3, to: null, session: "extended" }).toString()).toBe("tf=1h");
  });

  it("builds links to a dataset", () => {
    expect(analysisHref("aapl_1_day", "1d")).toBe("/analysis?table=aapl_1_day&tf=1d");
  });
});
