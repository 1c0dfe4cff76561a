/**
 * The indicators on the chart as a user picks them and the URL carries them (pure).
 *
 * A spec is an indicator with optional parameters, `sma(20)`, `bbands(20,2,2)`, `rsi` (defaults),
 * `macd(fastperiod=8,slowperiod=21)`. The server parses and checks it (a bad one is a 422 with the
 * reason); the form check here only catches what can never be a spec, before it is sent.
 *
 * In the URL each indicator is one `ind` value: its spec, then `;hide` when it is hidden and
 * `;c=<rrggbb>` when it has a colour of its own (`ind=rsi(14);c=c084fc;hide`). A plain spec, as older
 * links carry, is a shown indicator in its palette colour.
 */

/** The server's limit on indicators per request. */
export const MAX_INDICATORS = 20;

/** One indicator on the chart. */
export interface ActiveIndicator {
  /** The spec as the user picked or typed it, normalised (the server answers its canonical form). */
  spec: string;
  /** Kept (and computed) but not drawn. */
  hidden: boolean;
  /** `#rrggbb`, or `null` for the palette's colour at its place. */
  color: string | null;
}

// The shape the server accepts (its own check is authoritative; this one catches typos early).
const SPEC_FORM = /^[a-z][a-z0-9_]{0,31}(\([^();]{0,120}\))?$/;
const HEX_COLOR = /^#?([0-9a-f]{6})$/i;

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

/** The function name of a spec, lower case: `bbands(20,2)` → `bbands`. */
export function specName(spec: string): string {
  const cut = spec.indexOf("(");
  return cut < 0 ? spec : spec.slice(0, cut);
}

/** `#rrggbb` (lower case) from `rrggbb` or `#rrggbb`, else `null`. */
export function normalizeColor(text: string): string | null {
  const match = HEX_COLOR.exec(text.trim());
  return match?.[1] !== undefined ? `#${match[1].toLowerCase()}` : null;
}

/** One URL `ind` value as an indicator, or `null` when its spec cannot be one. */
export function parseActiveIndicator(value: string): ActiveIndicator | null {
  const [head = "", ...flags] = value.split(";");
  const spec = normalizeSpec(head);
  if (specProblem(spec) !== null) return null;
  let hidden = false;
  let color: string | null = null;
  for (const flag of flags.map((f) => f.trim().toLowerCase())) {
    if (flag === "hide") hidden = true;
    else if (flag.startsWith("c=")) color = normalizeColor(flag.slice(2)) ?? color;
  }
  return { spec, hidden, color };
}

/** An indicator as one URL `ind` value (a plain spec when it is shown in its palette colour). */
export function formatActiveIndicator(indicator: ActiveIndicator): string {
  let text = indicator.spec;
  if (indicator.color !== null) text += `;c=${indicator.color.replace("#", "")}`;
  if (indicator.hidden) text += ";hide";
  return text;
}

/** Indicators from the URL's `ind` values: well-formed, one per spec, at most `MAX_INDICATORS`. */
export function parseActiveIndicators(values: readonly string[]): ActiveIndicator[] {
  const out: ActiveIndicator[] = [];
  for (const value of values) {
    const indicator = parseActiveIndicator(value);
    if (indicator !== null && !out.some((o) => o.spec === indicator.spec)) out.push(indicator);
    if (out.length === MAX_INDICATORS) break;
  }
  return out;
}

/** A shown indicator in its palette colour. */
export function newIndicator(spec: string): ActiveIndicator {
  return { spec, hidden: false, color: null };
}
