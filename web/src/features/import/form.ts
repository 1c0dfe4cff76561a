/** The import form's values, validation, the request it makes and how its answers read (pure). */
import type { components, operations } from "../../api/generated/schema";
import { isRecord } from "../../lib/ensure";

type Schemas = components["schemas"];
export type ImportResult = Schemas["ImportResult"];
export type ImportRejection = Schemas["ImportRejection"];
export type ImportProblem = Schemas["ImportProblem"];
export type ImportParams = Required<NonNullable<operations["importBars"]["parameters"]["query"]>>;
export type ImportTimespan = ImportParams["timespan"];
export type EpochUnit = ImportParams["epoch_unit"];

export const IMPORT_TIMESPANS = ["minute", "hour", "day"] as const satisfies readonly ImportTimespan[];
export const EPOCH_UNITS = ["auto", "s", "ms", "us", "ns"] as const satisfies readonly EpochUnit[];
export const COMMON_ZONES = ["America/New_York", "UTC", "America/Chicago", "America/Los_Angeles", "Europe/London", "Europe/Berlin", "Asia/Tokyo", "Asia/Hong_Kong"] as const;
/** The server's limit (it enforces it; checking here saves uploading a file it would refuse). */
export const MAX_IMPORT_BYTES = 512 * 1024 * 1024;

export interface ImportFormValues {
  symbol: string;
  timespan: ImportTimespan;
  multiplier: string;
  tz: string;
  adjusted: boolean;
  epochUnit: EpochUnit;
}

export type ImportFormErrors = Partial<Record<keyof ImportFormValues | "file", string>>;

export type ImportFormResult = { ok: true; params: ImportParams } | { ok: false; errors: ImportFormErrors };

export const DEFAULT_IMPORT_VALUES: ImportFormValues = {
  symbol: "",
  timespan: "minute",
  multiplier: "1",
  tz: "America/New_York",
  adjusted: true,
  epochUnit: "auto",
};

const SYMBOL_RE = /^[A-Z0-9][A-Z0-9.:-]{0,19}$/;
const ZONE_RE = /^[A-Za-z0-9_+\-/]{1,64}$/;

/**
 * A ticker guessed from a file name: its first run of letters (and dots), when it looks like one.
 *
 * @example guessSymbol("aapl_1min_2024.csv") // "AAPL"
 */
export function guessSymbol(fileName: string): string {
  const match = /^([A-Za-z]{1,6}(?:\.[A-Za-z])?)(?=[^A-Za-z]|$)/.exec(fileName);
  return match?.[1] !== undefined ? match[1].toUpperCase() : "";
}

/**
 * A size in words.
 *
 * @example formatBytes(1536) // "1.5 KiB"
 */
export function formatBytes(bytes: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}

/** Checks the form and the chosen file, and builds the query, or says what is wrong, field by field. */
export function validateImportForm(values: ImportFormValues, file: { name: string; size: number } | null): ImportFormResult {
  const errors: ImportFormErrors = {};
  if (file === null) errors.file = "Choose a CSV or Parquet file.";
  else if (file.size === 0) errors.file = "The file is empty.";
  else if (file.size > MAX_IMPORT_BYTES) errors.file = `The file is ${formatBytes(file.size)}; imports take at most ${formatBytes(MAX_IMPORT_BYTES)}.`;
  const symbol = values.symbol.trim().toUpperCase();
  if (symbol === "") errors.symbol = "Enter the symbol the bars belong to.";
  else if (!SYMBOL_RE.test(symbol)) errors.symbol = `Not a ticker: ${symbol}`;
  const multiplier = Number(values.multiplier);
  if (!/^\d+$/.test(values.multiplier.trim()) || !Number.isSafeInteger(multiplier) || multiplier < 1 || multiplier > 10_000) {
    errors.multiplier = "A whole number from 1 to 10000.";
  }
  const tz = values.tz.trim();
  if (!ZONE_RE.test(tz)) errors.tz = "An IANA time zone, such as America/New_York or UTC.";
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return { ok: true, params: { symbol, timespan: values.timespan, multiplier, tz, adjusted: values.adjusted, epoch_unit: values.epochUnit } };
}

/**
 * The query string of `POST /api/v1/stocks/import`.
 *
 * @example importQuery({ symbol: "AAPL", timespan: "day", multiplier: 1, tz: "UTC", adjusted: false, epoch_unit: "auto" }).toString()
 * // "symbol=AAPL&timespan=day&multiplier=1&tz=UTC&adjusted=false&epoch_unit=auto"
 */
export function importQuery(params: ImportParams): URLSearchParams {
  return new URLSearchParams({
    symbol: params.symbol,
    timespan: params.timespan,
    multiplier: String(params.multiplier),
    tz: params.tz,
    adjusted: String(params.adjusted),
    epoch_unit: params.epoch_unit,
  });
}

/** Whether a 422 answer's body is a rejected import (it lists problems), not another invalid request. */
export function isRejection(body: unknown): body is ImportRejection {
  return isRecord(body) && Array.isArray(body.problems) && typeof body.problem_count === "number";
}

/**
 * A problem in words: `line 3: open: 'abc' is not a number` (rows, for Parquet).
 *
 * @example problemLine({ line: 3, column: "open", message: "'abc' is not a number" }, "csv") // "line 3: open: 'abc' is not a number"
 */
export function problemLine(problem: ImportProblem, format: ImportRejection["format"]): string {
  const where = problem.line !== null ? `${format === "parquet" ? "row" : "line"} ${problem.line}: ` : "";
  const column = problem.column !== null && problem.column !== "" ? `${problem.column}: ` : "";
  return `${where}${column}${problem.message}`;
}

/** Every listed problem in words, and how many more the file has. */
export function rejectionLines(rejection: ImportRejection): { lines: string[]; more: number } {
  const lines = rejection.problems.map((p) => problemLine(p, rejection.format));
  return { lines, more: Math.max(0, rejection.problem_count - rejection.problems.length) };
}
