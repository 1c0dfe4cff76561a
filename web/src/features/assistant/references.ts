/**
 * A message's chart references as places on the Analysis page (pure): "Open on chart" goes to the
 * reference's symbol and timeframe (a stored dataset of that symbol, in the URL as the page keeps
 * it) and shows what it points at — trades by the URL's `run`, a projection by `proj`, an indicator by
 * `ind`, and a marker, a price line or a span as evidence drawn on the chart (`chart/evidence.ts`).
 */
import type { Dataset, Timeframe } from "../../api/types";
import type { ChartEvidence } from "../../chart/evidence";
import { evidenceWindow } from "../../chart/evidence";
import type { TimeWindow } from "../../chart/window";
import { type ActiveIndicator, MAX_INDICATORS, normalizeSpec, parseActiveIndicator } from "../../state/indicators";
import { datasetBarMs, nativeTimeframe, timeframeAvailable, timeframeMs } from "../../state/timeframe";
import { type AnalysisQuery, MAX_PROJECTIONS, parseAnalysisQuery, serializeAnalysisQuery } from "../../state/url";
import type { ChartReference } from "./types";

/**
 * Evidence drawn on the chart: what it is, the symbol it is of, and the window to show it in (the
 * one the URL asks for; `null`: any view, a price line's). Each click makes a new one: drawn and
 * zoomed to anew.
 */
export type Evidence = ChartEvidence & { symbol: string; window: TimeWindow | null };

export interface ChartTarget {
  /** The Analysis page's query to go to. */
  params: URLSearchParams;
  /** What to draw on the chart there (`null`: the URL says it all). */
  evidence: Evidence | null;
  /** Show the run under the chart (trades). */
  run: boolean;
}

/** An indicator spec as the chart's URL writes it: `RSI(14)` → `rsi(14)`; the colon form `bbands:20,2` → `bbands(20,2)`. */
export function urlSpec(spec: string): string {
  const text = normalizeSpec(spec);
  const colon = /^([a-z][a-z0-9_]*):(.+)$/.exec(text);
  return colon !== null ? `${colon[1]}(${colon[2]})` : text;
}

/**
 * The dataset to chart a reference on: the one charted when it is of the symbol and can draw the
 * timeframe; else a dataset of the symbol that can (adjusted as the charted one, the coarsest bars
 * that still draw it first: the closest fit), else any of the symbol; `null` when none is stored.
 */
export function datasetFor(symbol: string, timeframe: Timeframe, datasets: readonly Dataset[], current: string | null): Dataset | null {
  const upper = symbol.toUpperCase();
  const mine = datasets.filter((d) => d.symbol.toUpperCase() === upper);
  if (mine.length === 0) return null;
  const charted = mine.find((d) => d.table === current);
  if (charted !== undefined && timeframeAvailable(timeframe, charted)) return charted;
  const adjusted = datasets.find((d) => d.table === current)?.adjusted ?? true;
  const fitting = mine.filter((d) => timeframeAvailable(timeframe, d));
  const ranked = (fitting.length > 0 ? fitting : mine).slice().sort((a, b) => Number(b.adjusted === adjusted) - Number(a.adjusted === adjusted) || datasetBarMs(b) - datasetBarMs(a));
  return ranked[0] ?? null;
}

function withIndicator(indicators: readonly ActiveIndicator[], spec: string): ActiveIndicator[] | null {
  const parsed = parseActiveIndicator(urlSpec(spec));
  if (parsed === null) return null;
  const at = indicators.findIndex((i) => i.spec === parsed.spec);
  if (at >= 0) return indicators.map((i, n) => (n === at ? { ...i, hidden: false } : i));
  return [...indicators, parsed].slice(-MAX_INDICATORS);
}

function evidenceOf(ref: ChartReference): ChartEvidence | null {
  const { label } = ref;
  if (ref.kind === "marker") return { kind: "marker", ts: ref.ts, position: ref.position, label };
  if (ref.kind === "price_line") return { kind: "price_line", price: ref.price, label };
  if (ref.kind === "range") return { kind: "range", start: ref.start, end: ref.end, label };
  return null;
}

/**
 * Where "Open on chart" goes for `ref`, from the page's current query; a sentence instead when the
 * symbol has no stored dataset or the reference cannot be shown.
 */
export function chartTarget(ref: ChartReference, datasets: readonly Dataset[], current: URLSearchParams): ChartTarget | { problem: string } {
  const now = parseAnalysisQuery(current);
  const { timeframe } = ref;
  const dataset = datasetFor(ref.symbol, timeframe, datasets, now.table);
  if (dataset === null) return { problem: `No dataset of ${ref.symbol} is stored: fetch its bars first.` };
  const same = dataset.table === now.table;
  const tf = timeframeAvailable(timeframe, dataset) ? timeframe : nativeTimeframe(dataset);
  const next: AnalysisQuery = {
    ...now,
    table: dataset.table,
    tf,
    from: same ? now.from : null,
    to: same ? now.to : null,
    run: same ? now.run : null,
    compare: same ? now.compare : null,
    projections: same ? now.projections : [],
  };
  const drawn = evidenceOf(ref);
  let evidence: Evidence | null = null;
  if (drawn !== null) {
    const window = evidenceWindow(drawn, timeframeMs(tf));
    if (window !== null) {
      next.from = Math.round(window.fromMs);
      next.to = Math.round(window.toMs);
    }
    evidence = { ...drawn, symbol: ref.symbol, window };
  } else if (ref.kind === "trades") {
    next.run = ref.run_id;
    next.compare = null;
  } else if (ref.kind === "projection") {
    next.projections = [...next.projections.filter((p) => p !== ref.projection_id), ref.projection_id].slice(-MAX_PROJECTIONS);
  } else if (ref.kind === "indicator") {
    const indicators = withIndicator(now.indicators, ref.spec);
    if (indicators === null) return { problem: `“${ref.spec}” is not an indicator the chart can draw.` };
    next.indicators = indicators;
  }
  return { params: serializeAnalysisQuery(next), evidence, run: ref.kind === "trades" };
}

/** The words of a reference's chip. */
export function referenceText(ref: ChartReference): string {
  const where = `${ref.symbol} ${ref.timeframe}`;
  const label = ref.label !== "" ? ref.label : null;
  switch (ref.kind) {
    case "marker":
      return `${label ?? "Bar"} · ${where}`;
    case "price_line":
      return `${label ?? `Price ${ref.price}`} · ${where}`;
    case "range":
      return `${label ?? "Span"} · ${where}`;
    case "trades":
      return `${label ?? "Trades"} · ${where}`;
    case "projection":
      return `${label ?? "Projection"} · ${where}`;
    case "indicator":
      return `${label ?? urlSpec(ref.spec)} · ${where}`;
    default:
      return where;
  }
}
