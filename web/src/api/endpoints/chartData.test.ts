import { makeData, makeVector, Table, tableToIPC, Timestamp, TimeUnit } from "apache-arrow";
import { afterEach, describe, expect, it, vi } from "vitest";

import { ARROW_STREAM, clearSliceCache, fetchChartSlice, parseSliceMeta } from "./chartData";
import { ApiError } from "../problem";

afterEach(() => {
  vi.unstubAllGlobals();
  clearSliceCache();
});

describe("parseSliceMeta", () => {
  it("reads the X-K2Q headers", () => {
    const headers = new Headers({ "X-K2Q-Bucket": "5m", "X-K2Q-Source-Series": "minute", "X-K2Q-Truncated": "true", "X-K2Q-Rows": "1234" });
    expect(parseSliceMeta(headers)).toEqual({ bucket: "5m", timeframe: null, sourceSeries: "minute", truncated: true, rows: 1234, adjusted: null, session: null, etag: null });
    const more = new Headers({ "X-K2Q-Timeframe": "15m", "X-K2Q-Adjusted": "false", "X-K2Q-Session": "regular", ETag: '"abc"' });
    expect(parseSliceMeta(more)).toMatchObject({ timeframe: "15m", adjusted: false, session: "regular", etag: '"abc"' });
  });
  it("tolerates missing headers", () => {
    expect(parseSliceMeta(new Headers())).toEqual({ bucket: null, timeframe: null, sourceSeries: null, truncated: false, rows: null, adjusted: null, session: null, etag: null });
  });
});

describe("fetchChartSlice", () => {
  it("posts the request with the Arrow Accept header and decodes the stream", async () => {
    const ts = makeVector(makeData({ type: new Timestamp(TimeUnit.MILLISECOND, "UTC"), length: 1, data: new BigInt64Array([1_700_000_000_000n]) }));
    const f = (v: number) => makeVector(new Float64Array([v]));
    const ipc = tableToIPC(new Table({ ts, open: f(1), high: f(2), low: f(0.5), close: f(1.5), volume: f(10) }), "stream");
    const body = new Uint8Array(ipc.byteLength);
    body.set(ipc);
    const fetchMock = vi.fn(async () => new Response(body, { status: 200, headers: { "Content-Type": ARROW_STREAM, "X-K2Q-Bucket": "1d", "X-K2Q-Rows": "1" } }));
    vi.stubGlobal("fetch", fetchMock);

    const slice = await fetchChartSlice({ table: "aapl", timeframe: "1d", from: 0, to: 10, max_points: 100, adjusted: true, session: "extended" });
    expect(slice.bucket).toBe("1d");
    expect(slice.table.numRows).toBe(1);
    const [url, init] = fetchMock.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe("/api/v1/stocks/chart-data");
    expect(init.method).toBe("POST");
    expect(new Headers(init.headers).get("Accept")).toContain(ARROW_STREAM);
    expect(JSON.parse(init.body as string)).toEqual({ table: "aapl", timeframe: "1d", from: 0, to: 10, max_points: 100, adjusted: true, session: "extended" });
  });

  it("asks again with If-None-Match and reuses the remembered answer on a 304", async () => {
    const ts = makeVector(makeData({ type: new Timestamp(TimeUnit.MILLISECOND, "UTC"), length: 1, data: new BigInt64Array([1_700_000_000_000n]) }));
    const f = (v: number) => makeVector(new Float64Array([v]));
    const table = new Table({ ts, open: f(1), high: f(2), low: f(0.5), close: f(1.5), volume: f(10) });
    table.schema.metadata.set("k2q.timeframe", "5m");
    const ipc = tableToIPC(table, "stream");
    const headers = { "Content-Type": ARROW_STREAM, "X-K2Q-Bucket": "5m", ETag: '"v1"' };
    const fetchMock = vi
      .fn()
      .mockImplementationOnce(async () => new Response(ipc.slice(), { status: 200, headers }))
      .mockImplementationOnce(async () => new Response(null, { status: 304, headers: { ETag: '"v1"' } }));
    vi.stubGlobal("fetch", fetchMock);
    const request = { table: "aapl", from: 0, to: 10, max_points: 100, adjusted: true, session: "extended" as const };

    const first = await fetchChartSlice(request);
    expect(first.timeframe).toBe("5m"); // from the schema metadata when the header is absent
    const again = await fetchChartSlice(request);
    const init = fetchMock.mock.calls[1]?.[1] as RequestInit;
    expect(new Headers(init.headers).get("If-None-Match")).toBe('"v1"');
    expect(again.bucket).toBe("5m");
    expect(again.table.numRows).toBe(1);
  });

  it("turns a problem answer into an ApiError", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => new Response(JSON.stringify({ title: "Unknown table", status: 404 }), { status: 404 })));
    await expect(fetchChartSlice({ table: "nope", timeframe: "1d", from: 0, to: 10, max_points: 100, adjusted: true, session: "extended" })).rejects.toBeInstanceOf(ApiError);
  });
});
