/** The fetch form's values, validation and the request it builds (pure). */
import type { FetchRequest, JobState, SymbolProgress, Timespan } from "../../api/types";

/** A source a fetch can pull from (imported `file` datasets arrive another way). */
export type FetchSource = NonNullable<FetchRequest["source"]>;

export const TIMESPANS = ["minute", "hour", "day", "week", "month", "quarter", "year"] as const satisfies readonly Timespan[];
export const SOURCES = ["polygon", "synthetic"] as const satisfies readonly FetchSource[];

export interface FetchFormValues {
  symbols: string;
  timespan: Timespan;
  multiplier: string;
  from: string;
  to: string;
  adjusted: boolean;
  source: FetchSource;
}

export type FetchFormErrors = Partial<Record<keyof FetchFormValues, string>>;

export type FetchFormResult = { ok: true; request: FetchRequest } | { ok: false; errors: FetchFormErrors };

const SYMBOL_RE = /^[A-Z0-9][A-Z0-9.:^-]{0,19}$/;
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

/** `YYYY-MM-DD` of a date (its UTC calendar day). */
export function isoDate(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** The form's starting values: AAPL daily bars over the last year. */
export function defaultFormValues(today: Date): FetchFormValues {
  const from = new Date(today.getTime());
  from.setUTCFullYear(from.getUTCFullYear() - 1);
  return { symbols: "AAPL", timespan: "day", multiplier: "1", from: isoDate(from), to: isoDate(today), adjusted: true, source: "polygon" };
}

/**
 * Symbols from free text: split on commas, semicolons and white space, upper-cased, de-duplicated.
 *
 * @example parseSymbols("aapl, msft  aapl") // ["AAPL", "MSFT"]
 */
export function parseSymbols(text: string): string[] {
  const seen = new Set<string>();
  for (const raw of text.split(/[\s,;]+/)) {
    const symbol = raw.trim().toUpperCase();
    if (symbol !== "") seen.add(symbol);
  }
  return [...seen];
}

function validDate(value: string): boolean {
  return DATE_RE.test(value) && Number.isFinite(Date.parse(`${value}T00:00:00Z`));
}

/** Checks the form and builds the request, or lists what is wrong, field by field. */
export function validateFetchForm(values: FetchFormValues): FetchFormResult {
  const errors: FetchFormErrors = {};
  const symbols = parseSymbols(values.symbols);
  const bad = symbols.filter((s) => !SYMBOL_RE.test(s));
  if (symbols.length === 0) errors.symbols = "Enter at least one symbol.";
  else if (bad.length > 0) errors.symbols = `Not a ticker: ${bad.join(", ")}`;
  else if (symbols.length > 100) errors.symbols = "At most 100 symbols per fetch.";

  const multiplier = Number(values.multiplier);
  if (!/^\d+$/.test(values.multiplier.trim()) || !Number.isSafeInteger(multiplier) || multiplier < 1) {
    errors.multiplier = "A whole number, 1 or more.";
  }
  if (!validDate(values.from)) errors.from = "Pick a start date.";
  if (!validDate(values.to)) errors.to = "Pick an end date.";
  if (errors.from === undefined && errors.to === undefined && values.from > values.to) {
    errors.to = "The end date is before the start date.";
  }
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return {
    ok: true,
    request: {
      symbols,
      market: false,
      timespan: values.timespan,
      multiplier,
      from: values.from,
      to: values.to,
      adjusted: values.adjusted,
      source: values.source,
    },
  };
}

/** Whether a job has finished (no more polling). */
export function isTerminal(state: JobState): boolean {
  return state === "complete" || state === "failed" || state === "cancelled";
}

/** A symbol's progress as a fraction in [0, 1]. */
export function progressFraction(p: Pick<SymbolProgress, "windows_done" | "windows_total">, done = false): number {
  if (p.windows_total <= 0) return done ? 1 : 0;
  return Math.max(0, Math.min(1, p.windows_done / p.windows_total));
}
