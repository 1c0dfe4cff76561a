// The import form's pure logic, and the upload against a fake fetch (the file as the body, CSRF, outcomes).
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { resetSessionStateForTests } from "../../api/http";
import { ApiError } from "../../api/problem";
import {
  DEFAULT_IMPORT_VALUES,
  formatBytes,
  guessSymbol,
  importQuery,
  isRejection,
  MAX_IMPORT_BYTES,
  problemLine,
  rejectionLines,
  validateImportForm,
  type ImportRejection,
} from "./form";
import { importFile } from "./upload";

const FILE = { name: "aapl.csv", size: 1234 };
const REJECTION: ImportRejection = {
  title: "Invalid request",
  status: 422,
  detail: "2 problem(s) in the file, so nothing was stored",
  format: "csv",
  problems: [
    { line: 3, column: "open", message: "'abc' is not a number" },
    { line: null, column: "close", message: "no close column (looked for: close, c)" },
  ],
  problem_count: 32,
};

describe("validateImportForm", () => {
  it("builds the query parameters", () => {
    const result = validateImportForm({ ...DEFAULT_IMPORT_VALUES, symbol: " brk.b ", multiplier: "5", tz: " UTC ", adjusted: false }, FILE);
    expect(result).toEqual({
      ok: true,
      params: { symbol: "BRK.B", timespan: "minute", multiplier: 5, tz: "UTC", adjusted: false, epoch_unit: "auto" },
    });
  });

  it("reports each bad field and a missing, empty or oversized file", () => {
    const bad = validateImportForm({ ...DEFAULT_IMPORT_VALUES, symbol: "$$$", multiplier: "0", tz: "New York" }, null);
    expect(bad.ok ? [] : Object.keys(bad.errors).sort()).toEqual(["file", "multiplier", "symbol", "tz"]);
    const empty = validateImportForm({ ...DEFAULT_IMPORT_VALUES, symbol: "A" }, { name: "a.csv", size: 0 });
    expect(empty.ok ? null : empty.errors.file).toBe("The file is empty.");
    const huge = validateImportForm({ ...DEFAULT_IMPORT_VALUES, symbol: "A" }, { name: "a.csv", size: MAX_IMPORT_BYTES + 1 });
    expect(huge.ok ? null : huge.errors.file).toBe("The file is 512.0 MiB; imports take at most 512.0 MiB.");
    const noSymbol = validateImportForm({ ...DEFAULT_IMPORT_VALUES, multiplier: "1.5" }, FILE);
    expect(noSymbol.ok ? [] : Object.keys(noSymbol.errors).sort()).toEqual(["multiplier", "symbol"]);
  });
});

describe("helpers", () => {
  it("guesses a ticker from a file name", () => {
    expect(guessSymbol("aapl_1min_2024.csv")).toBe("AAPL");
    expect(guessSymbol("BRK.B-daily.parquet")).toBe("BRK.B");
    expect(guessSymbol("2024 export.csv")).toBe("");
    expect(guessSymbol("verylongname.csv")).toBe("");
  });

  it("formats sizes", () => {
    expect(formatBytes(512)).toBe("512 bytes");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(3 * 1024 * 1024)).toBe("3.0 MiB");
  });

  it("writes the query", () => {
    const query = importQuery({ symbol: "AAPL", timespan: "day", multiplier: 1, tz: "UTC", adjusted: false, epoch_unit: "ms" });
    expect(query.toString()).toBe("symbol=AAPL&timespan=day&multiplier=1&tz=UTC&adjusted=false&epoch_unit=ms");
  });

  it("words problems by line, by row for Parquet, and counts the rest", () => {
    expect(problemLine({ line: 3, column: "open", message: "x" }, "parquet")).toBe("row 3: open: x");
    expect(rejectionLines(REJECTION)).toEqual({
      lines: ["line 3: open: 'abc' is not a number", "close: no close column (looked for: close, c)"],
      more: 30,
    });
    expect(isRejection(REJECTION)).toBe(true);
    expect(isRejection({ title: "Invalid request", status: 422, detail: "timespan: bad" })).toBe(false);
  });
});

describe("importFile", () => {
  const calls: { url: string; init: RequestInit }[] = [];

  function answer(status: number, body: unknown): void {
    vi.stubGlobal(
      "fetch",
      vi.fn(async (url: string, init: RequestInit = {}) => {
        calls.push({ url, init });
        return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
      }),
    );
  }

  beforeEach(() => {
    calls.length = 0;
    resetSessionStateForTests();
    vi.stubGlobal("document", { cookie: "k2q_csrf=csrf-1" });
  });

  afterEach(() => {
    vi.unstubAllGlobals();
    resetSessionStateForTests();
  });

  const params = { symbol: "AAPL", timespan: "minute", multiplier: 1, tz: "America/New_York", adjusted: true, epoch_unit: "auto" } as const;

  it("sends the file itself as the body with the CSRF header and returns the result", async () => {
    const result = { dataset: { table: "aapl_1minute_2024-01-02_2024-01-03" }, summary: { bars: 2 } };
    answer(201, result);
    const file = new Blob(["time,open\n"], { type: "text/csv" });
    const outcome = await importFile(file, params);
    expect(outcome).toEqual({ kind: "imported", result });
    expect(calls).toHaveLength(1);
    const call = calls[0];
    expect(call?.url).toBe("/api/v1/stocks/import?symbol=AAPL&timespan=minute&multiplier=1&tz=America%2FNew_York&adjusted=true&epoch_unit=auto");
    expect(call?.init.method).toBe("POST");
    expect(call?.init.body).toBe(file);
    expect(call?.init.headers).toMatchObject({ "Content-Type": "text/csv", "X-CSRF-Token": "csrf-1" });
  });

  it("returns a rejected file's problems", async () => {
    answer(422, REJECTION);
    expect(await importFile(new Blob(["x"]), params)).toEqual({ kind: "rejected", rejection: REJECTION });
    expect(calls[0]?.init.headers).toMatchObject({ "Content-Type": "application/octet-stream" });
  });

  it("throws other failures as ApiError", async () => {
    answer(409, { title: "Conflict", status: 409, detail: "AAPL 1m bars are stored from polygon" });
    await expect(importFile(new Blob(["x"]), params)).rejects.toMatchObject({ status: 409, detail: "AAPL 1m bars are stored from polygon" });
    answer(422, { title: "Invalid request", status: 422, detail: "unknown time zone" });
    await expect(importFile(new Blob(["x"]), params)).rejects.toBeInstanceOf(ApiError);
  });
});
