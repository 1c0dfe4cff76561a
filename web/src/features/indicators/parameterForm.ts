/**
 * The parameter form of one indicator (pure): its values as typed, checking each against its type
 * and range, and the spec they make.
 *
 * A spec is the lower-case name plus positional arguments in parameter order, up to the last one
 * that differs from its default: `rsi` at the defaults, `rsi(21)`, `bbands(20,2.5)`,
 * `avwap(2024-03-01)`. The server checks it again and answers its canonical form.
 */
import type { IndicatorInfo, IndicatorParameter } from "../../api/types";

/** TA-Lib's moving-average kinds, by `matype` value (`MA_TYPES` in `schemas/indicators.py`). */
export const MA_TYPES = ["SMA", "EMA", "WMA", "DEMA", "TEMA", "TRIMA", "KAMA", "MAMA", "T3"] as const;

/** The text of each parameter's input, by parameter name. */
export type FormValues = Readonly<Record<string, string>>;

const INTEGER = /^[+-]?\d+$/;
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function defaultText(param: IndicatorParameter): string {
  return param.default === null ? "" : String(param.default);
}

/** Every parameter at its default (`""` for a date without one). */
export function defaultValues(info: IndicatorInfo): FormValues {
  return Object.fromEntries(info.parameters.map((p) => [p.name, defaultText(p)]));
}

/** A moving-average kind typed by name (`ema`) as its value; anything else as typed. */
function maTypeText(raw: string): string {
  const index = MA_TYPES.findIndex((name) => name === raw.toUpperCase());
  return index < 0 ? raw : String(index);
}

/**
 * The form's values for an indicator already on the chart: its spec's arguments, positional
 * (`bbands(20,2)`) or named (`macd(fastperiod=8,slowperiod=21)`), the defaults for the rest.
 */
export function valuesFromSpec(info: IndicatorInfo, spec: string): FormValues {
  const values: Record<string, string> = { ...defaultValues(info) };
  const open = spec.indexOf("(");
  if (open < 0 || !spec.endsWith(")")) return values;
  const args = spec.slice(open + 1, -1).split(",").filter((a) => a.trim() !== "");
  args.forEach((arg, index) => {
    const eq = arg.indexOf("=");
    const param = eq < 0 ? info.parameters[index] : info.parameters.find((p) => p.name.toLowerCase() === arg.slice(0, eq).trim().toLowerCase());
    if (param === undefined) return;
    const raw = (eq < 0 ? arg : arg.slice(eq + 1)).trim();
    values[param.name] = param.type === "ma_type" ? maTypeText(raw) : raw;
  });
  return values;
}

/** The valid range in words: `2 – 100000`, `≥ 0`, `≤ 1`, or `""` when unbounded. */
export function rangeText(param: IndicatorParameter): string {
  const min = param.minimum ?? null;
  const max = param.maximum ?? null;
  if (min !== null && max !== null) return `${min} – ${max}`;
  if (min !== null) return `≥ ${min}`;
  if (max !== null) return `≤ ${max}`;
  return "";
}

function isIsoDate(text: string): boolean {
  const match = ISO_DATE.exec(text);
  if (match === null) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

/** Why `raw` is not a valid value of `param`, or `null` when it is. */
export function parameterProblem(param: IndicatorParameter, raw: string): string | null {
  const text = raw.trim();
  if (text === "") return "Required.";
  switch (param.type) {
    case "date":
      return isIsoDate(text) ? null : "A date, YYYY-MM-DD.";
    case "ma_type":
      return INTEGER.test(text) && Number(text) >= 0 && Number(text) < MA_TYPES.length ? null : `One of ${MA_TYPES.join(", ")}.`;
    case "integer":
      if (!INTEGER.test(text)) return "A whole number.";
      break;
    case "number":
      if (!NUMBER.test(text)) return "A number.";
      break;
  }
  const value = Number(text);
  const min = param.minimum ?? null;
  const max = param.maximum ?? null;
  if ((min !== null && value < min) || (max !== null && value > max)) return `From ${rangeText(param)}.`;
  return null;
}

/** The problem of each invalid parameter, by name (empty when the form is valid). */
export function formProblems(info: IndicatorInfo, values: FormValues): Record<string, string> {
  const problems: Record<string, string> = {};
  for (const param of info.parameters) {
    const problem = parameterProblem(param, values[param.name] ?? "");
    if (problem !== null) problems[param.name] = problem;
  }
  return problems;
}

/** A valid value as a spec argument (`2.50` → `2.5`). */
function argument(param: IndicatorParameter, raw: string): string {
  const text = raw.trim();
  return param.type === "date" ? text : String(Number(text));
}

function differsFromDefault(param: IndicatorParameter, raw: string): boolean {
  if (param.default === null) return true;
  if (param.type === "date" || typeof param.default === "string") return raw.trim() !== String(param.default);
  return Number(raw.trim()) !== param.default;
}

/**
 * The spec of a valid form: the name plus arguments up to the last that differs from its default.
 *
 * @example buildSpec(bbands, { timeperiod: "20", nbdevup: "2.5", nbdevdn: "2", matype: "0" }) // "bbands(20,2.5)"
 */
export function buildSpec(info: IndicatorInfo, values: FormValues): string {
  const params = info.parameters;
  let last = -1;
  params.forEach((param, index) => {
    if (differsFromDefault(param, values[param.name] ?? "")) last = index;
  });
  const name = info.name.toLowerCase();
  if (last < 0) return name;
  return `${name}(${params
    .slice(0, last + 1)
    .map((param) => argument(param, values[param.name] ?? ""))
    .join(",")})`;
}
