/** Data quality in words and numbers for the dataset list, the details pane and the chart (pure). */
import type { DataQuality, Gap } from "../../api/types";
import { formatCompact, formatInstantEt } from "../../chart/time";

export type QualityTone = "good" | "fair" | "poor" | "none";

/**
 * Coverage as a percentage with enough digits to tell 99.95 % from 100 %.
 *
 * @example formatCoverage(0.99951) // "99.95%"
 */
export function formatCoverage(coverage: number | null | undefined): string {
  if (coverage === null || coverage === undefined) return "—";
  if (coverage >= 1) return "100%";
  const pct = coverage * 100;
  const digits = pct >= 99 ? 2 : pct >= 10 ? 1 : 2;
  // Never round up to 100 % what is not complete.
  const shown = Math.floor(pct * 10 ** digits) / 10 ** digits;
  return `${shown.toFixed(digits)}%`;
}

/** How good the coverage is: ≥ 99.5 % good, ≥ 95 % fair, else poor; `none` when nothing is expected or not assessed. */
export function qualityTone(q: DataQuality | null | undefined): QualityTone {
  if (q === null || q === undefined || q.coverage === null) return "none";
  if (q.coverage >= 0.995) return "good";
  if (q.coverage >= 0.95) return "fair";
  return "poor";
}

/** The few problems worth a glance besides coverage ("3 gaps", "2 OHLC errors" …). */
export function qualityIssues(q: DataQuality): string[] {
  const issues: string[] = [];
  if (q.gaps > 0) issues.push(`${formatCompact(q.gaps)} gap${q.gaps === 1 ? "" : "s"}`);
  if (q.ohlc_violations > 0) issues.push(`${formatCompact(q.ohlc_violations)} OHLC error${q.ohlc_violations === 1 ? "" : "s"}`);
  if (q.zero_volume_runs > 0) issues.push(`${formatCompact(q.zero_volume_runs)} zero-volume run${q.zero_volume_runs === 1 ? "" : "s"}`);
  return issues;
}

/**
 * One line for a dataset list: coverage and issues.
 *
 * @example qualityLine({ coverage: 0.998, gaps: 3, … }) // "99.80% · 3 gaps"
 */
export function qualityLine(q: DataQuality | null | undefined): string {
  if (q === null || q === undefined) return "not assessed";
  return [formatCoverage(q.coverage), ...qualityIssues(q)].join(" · ");
}

/** What `expected` counts, in words. */
export function basisWords(q: DataQuality): string {
  return q.basis === "regular_session" ? "regular-session bars (09:30–16:00 ET, 13:00 on half days)" : "trading-day bars";
}

/** A gap as `start → end (n missing)`, in ET. */
export function gapLabel(gap: Gap): string {
  const start = Date.parse(gap.start);
  const end = Date.parse(gap.end);
  return `${formatInstantEt(start)} → ${formatInstantEt(end)} (${formatCompact(gap.missing)} missing)`;
}
