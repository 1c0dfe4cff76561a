/**
 * Indicator specs as a user picks them and the URL carries them (pure).
 *
 * A spec is a TA-Lib function with optional parameters, `sma(20)`, `bbands(20,2,2)`, `rsi`. The
 * server parses and checks it (a bad one is a 422 with the reason); the form check here only
 * catches what can never be a spec, before it is sent.
 */

/** The server's limit on indicators per request. */
export const MAX_INDICATORS = 20;

/** Common specs offered while typing. */
export const INDICATOR_SUGGESTIONS: readonly { spec: string; label: string }[] = [
  { spec: "sma(20)", label: "Simple moving average, 20 bars" },
  { spec: "sma(50)", label: "Simple moving average, 50 bars" },
  { spec: "sma(200)", label: "Simple moving average, 200 bars" },
  { spec: "ema(20)", label: "Exponential moving average, 20 bars" },
  { spec: "ema(50)", label: "Exponential moving average, 50 bars" },
  { spec: "bbands(20,2,2)", label: "Bollinger bands, 20 bars, 2 deviations" },
  { spec: "rsi(14)", label: "Relative strength index, 14 bars" },
  { spec: "macd(12,26,9)", label: "MACD 12/26, signal 9" },
  { spec: "atr(14)", label: "Average true range, 14 bars" },
  { spec: "adx(14)", label: "Average directional index, 14 bars" },
  { spec: "stoch", label: "Stochastic oscillator" },
  { spec: "cci(20)", label: "Commodity channel index, 20 bars" },
  { spec: "obv", label: "On-balance volume" },
];

// The shape the server accepts (its own check is authoritative; this one catches typos early).
const SPEC_FORM = /^[a-z][a-z0-9_]{0,31}(\([^()]{0,120}\))?$/;

/**
 * A spec as written in the URL: lower case, without spaces.
 *
 * @example normalizeSpec(" BBands(20, 2, 2) ") // "bbands(20,2,2)"
 */
export function normalizeSpec(text: string): string {
  return text.replace(/\s+/g, "").toLowerCase();
}

/** Why `text` cannot be an indicator spec, or `null` when it may be one (the server decides). */
export function specProblem(text: string): string | null {
  const spec = normalizeSpec(text);
  if (spec === "") return "Type an indicator, e.g. sma(20).";
  if (!SPEC_FORM.test(spec)) return `“${text.trim().slice(0, 60)}” is not of the form name or name(arg, …), e.g. sma(20).`;
  return null;
}

/** Specs from the URL: normalised, well-formed, unique, at most `MAX_INDICATORS`. */
export function parseIndicatorList(values: readonly string[]): string[] {
  const out: string[] = [];
  for (const value of values) {
    const spec = normalizeSpec(value);
    if (specProblem(spec) === null && !out.includes(spec)) out.push(spec);
    if (out.length === MAX_INDICATORS) break;
  }
  return out;
}

