/**
 * The strategy language's vocabulary as the editor sees it (pure): a tokenizer for highlighting one
 * line at a time, and the names offered for completion. The server's parser is the judge of what
 * parses (`/strategies/check`); this only colours and suggests.
 */
import type { IndicatorInfo } from "../../api/types";

export const PRICE_SERIES = ["open", "high", "low", "close", "volume", "vwap", "hl2", "hlc3", "ohlc4"] as const;
export const RULE_NAMES = ["long_entry", "long_exit", "short_entry", "short_exit", "stop_loss", "take_profit", "trailing_stop", "size"] as const;
export const KEYWORDS = ["and", "or", "not"] as const;
export const BOOLEANS = ["true", "false"] as const;

/** The builtins, with how each is called. */
export const BUILTINS: Readonly<Record<string, string>> = {
  param: "param(default, min=…, max=…)",
  crossover: "crossover(a, b): a crosses above b",
  crossunder: "crossunder(a, b): a crosses below b",
  highest: "highest(x, n): highest over the last n bars",
  lowest: "lowest(x, n): lowest over the last n bars",
  mean: "mean(x, n): mean over the last n bars",
  std: "std(x, n): population standard deviation over n bars",
  abs: "abs(x)",
  min: "min(a, b)",
  max: "max(a, b)",
  units: "units(n): n units (only as the whole of size)",
};

const RULE_HELP: Readonly<Record<(typeof RULE_NAMES)[number], string>> = {
  long_entry: "true/false per bar: open a long",
  long_exit: "true/false per bar: close the long",
  short_entry: "true/false per bar: open a short",
  short_exit: "true/false per bar: close the short",
  stop_loss: "percent from the entry fill",
  take_profit: "percent from the entry fill",
  trailing_stop: "percent from the best price since entry",
  size: "fraction of equity in (0, 1], or units(n)",
};

export type TokenType =
  | "comment"
  | "number"
  | "keyword"
  | "bool"
  | "rule"
  | "series"
  | "builtin"
  | "function"
  | "property"
  | "variable"
  | "operator"
  | "bracket"
  | "punctuation"
  | "invalid";

const WORDS = {
  rule: new Set<string>(RULE_NAMES),
  series: new Set<string>(PRICE_SERIES),
  keyword: new Set<string>(KEYWORDS),
  bool: new Set<string>(BOOLEANS),
  builtin: new Set<string>(Object.keys(BUILTINS)),
};

const NUMBER = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;
const OPERATOR = /^(?:\*\*|<=|>=|==|!=|[-+*/<>=])/;

/** The type of the word at `[start, end)` of `line`, from the word and what is around it. */
function wordType(line: string, start: number, end: number): TokenType {
  const word = line.slice(start, end);
  if (line[start - 1] === ".") return "property";
  if (WORDS.keyword.has(word)) return "keyword";
  if (WORDS.bool.has(word)) return "bool";
  if (WORDS.rule.has(word)) return "rule";
  const called = /^\s*\(/.test(line.slice(end));
  if (WORDS.builtin.has(word) && called) return "builtin";
  if (WORDS.series.has(word)) return "series";
  return called ? "function" : "variable";
}

/**
 * The token starting at `pos` of `line` (which is not whitespace): where it ends and its type.
 *
 * @example tokenAt("fast = param(10)", 7) // { end: 12, type: "builtin" }
 */
export function tokenAt(line: string, pos: number): { end: number; type: TokenType } {
  const rest = line.slice(pos);
  if (rest.startsWith("#")) return { end: line.length, type: "comment" };
  const number = NUMBER.exec(rest);
  if (number !== null) return { end: pos + number[0].length, type: "number" };
  const name = NAME.exec(rest);
  if (name !== null) return { end: pos + name[0].length, type: wordType(line, pos, pos + name[0].length) };
  const operator = OPERATOR.exec(rest);
  if (operator !== null) return { end: pos + operator[0].length, type: "operator" };
  const char = rest[0] ?? "";
  if ("()[]".includes(char)) return { end: pos + 1, type: "bracket" };
  if (",.".includes(char)) return { end: pos + 1, type: "punctuation" };
  return { end: pos + 1, type: "invalid" };
}

/** Every token of a line, whitespace left out (for tests and anything that wants the whole line). */
export function tokenize(line: string): { text: string; type: TokenType }[] {
  const tokens: { text: string; type: TokenType }[] = [];
  let pos = 0;
  while (pos < line.length) {
    if (/\s/.test(line[pos] ?? "")) {
      pos += 1;
      continue;
    }
    const { end, type } = tokenAt(line, pos);
    tokens.push({ text: line.slice(pos, end), type });
    pos = end;
  }
  return tokens;
}

/** A completion as CodeMirror's `Completion` takes it (kept free of CodeMirror here). */
export interface WordOption {
  label: string;
  /** CodeMirror's completion type: its icon. */
  type: "keyword" | "variable" | "function" | "constant" | "property" | "type";
  detail?: string;
  info?: string;
  /** Higher first among equal matches. */
  boost?: number;
}

/**
 * The names offered for completion: rule names, price series, builtins, keywords, every catalog
 * function (lower case, as the language calls them) and the names the text itself declares.
 */
export function completionWords(catalog: readonly IndicatorInfo[], declared: readonly string[] = []): WordOption[] {
  const options: WordOption[] = [];
  const seen = new Set<string>();
  const add = (option: WordOption): void => {
    if (seen.has(option.label)) return;
    seen.add(option.label);
    options.push(option);
  };
  for (const name of RULE_NAMES) add({ label: name, type: "type", detail: "rule", info: RULE_HELP[name], boost: 2 });
  for (const name of PRICE_SERIES) add({ label: name, type: "constant", detail: "price series", boost: 1 });
  for (const name of declared) add({ label: name, type: "variable", detail: "yours", boost: 3 });
  for (const [name, help] of Object.entries(BUILTINS)) add({ label: name, type: "function", detail: "builtin", info: help, boost: 1 });
  for (const name of [...KEYWORDS, ...BOOLEANS]) add({ label: name, type: "keyword" });
  for (const info of catalog) {
    add({ label: info.name.toLowerCase(), type: "function", detail: info.display_name, info: catalogHelp(info) });
  }
  return options;
}

/** A catalog function's call in words: `sma(close, timeperiod=30) → real`. */
export function catalogHelp(info: IndicatorInfo): string {
  const params = info.parameters.map((p) => (p.default !== null ? `${p.name}=${String(p.default)}` : p.name));
  const args = [...info.inputs, ...params].join(", ");
  const outputs = info.outputs.map((o) => o.name);
  const selectors = outputs.length > 1 ? ` → .${outputs.join(" .")}` : "";
  return `${info.name.toLowerCase()}(${args})${selectors}`;
}

/** The word being typed before `pos` in `text` and where it starts, or `null` when none is (e.g. after a space or a `#`). */
export function wordBefore(text: string, pos: number): { from: number; word: string } | null {
  const lineStart = text.lastIndexOf("\n", pos - 1) + 1;
  const before = text.slice(lineStart, pos);
  if (before.includes("#")) return null;
  const match = /[A-Za-z_][A-Za-z0-9_]*$/.exec(before);
  if (match === null) return null;
  return { from: pos - match[0].length, word: match[0] };
}

/** A first strategy for a new one: SMA crossover with a stop. */
export const TEMPLATE = `# SMA crossover
fast = param(10, min=2, max=100)
slow = param(30, min=5, max=400)
long_entry = crossover(sma(close, fast), sma(close, slow))
long_exit = crossunder(sma(close, fast), sma(close, slow))
stop_loss = 5
`;
