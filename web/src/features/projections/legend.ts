/**
 * Projections in words (pure): the chart legend's line for each one drawn (method, horizon, when it
 * was made, how it scored), the list's score summary, the leaderboard's figures, and a job's
 * progress ("7 of 20 cuts").
 */
import type { EvaluationRow, JobStatus, Projection, ProjectionScore } from "../../api/types";
import { formatInstantEt, isoToMs } from "../../chart/time";
import { methodInfo } from "./projectionForm";

/** Colours of the projections drawn, in the order drawn (the median line; the band is a see-through fill of it). */
export const PROJECTION_COLORS = ["#f0b429", "#a78bfa", "#38bdf8", "#f472b6", "#4ade80", "#fb923c", "#e879f9", "#94a3b8", "#facc15", "#2dd4bf"] as const;

/** The colour of the `index`-th projection drawn. */
export function projectionColor(index: number): string {
  return PROJECTION_COLORS[((index % PROJECTION_COLORS.length) + PROJECTION_COLORS.length) % PROJECTION_COLORS.length] ?? PROJECTION_COLORS[0];
}

function fixed(value: number | null | undefined, digits: number): string {
  return typeof value === "number" && Number.isFinite(value) ? value.toFixed(digits) : "—";
}

/** A percentage, whole unless small: `78%`, `2.5%`. */
export function pct(value: number | null | undefined): string {
  if (typeof value !== "number" || !Number.isFinite(value)) return "—";
  const rounded = Math.abs(value) >= 10 || Number.isInteger(value) ? value.toFixed(0) : value.toFixed(1);
  return `${rounded}%`;
}

/** What a projection is: `GBM h20 80%`. */
export function projectionName(p: Pick<Projection, "method" | "horizon" | "level">): string {
  return `${methodInfo(p.method).short} h${p.horizon} ${pct(p.level)}`;
}

/** When a projection was made, in New York time: `made 2024-05-01 14:03 ET`. */
export function madeText(createdAt: string): string {
  const ms = isoToMs(createdAt);
  return ms === null ? `made ${createdAt}` : `made ${formatInstantEt(ms)}`;
}

/** How a projection scored: `MAE 1.23 · inside 75%/80% · direction ✓ (12 bars)`. */
export function scoreText(score: ProjectionScore): string {
  const direction = score.direction_hit ? "direction ✓" : "direction ✗";
  const bars = `${score.bars} ${score.bars === 1 ? "bar" : "bars"}`;
  return `MAE ${fixed(score.mae, 2)} · inside ${pct(score.inside_pct)}/${pct(score.level)} · ${direction} (${bars})`;
}

/** Where a projection stands when it has no score: computing, failed, or waiting for its bars. */
export function statusText(p: Pick<Projection, "status" | "error" | "score">): string {
  if (p.status === "queued") return "queued";
  if (p.status === "running") return "computing…";
  if (p.status === "failed") return p.error != null && p.error !== "" ? `failed: ${p.error}` : "failed";
  return p.score != null ? scoreText(p.score) : "not scored yet";
}

/** The legend's line for a projection: `GBM h20 80% · made 2024-05-01 14:03 ET · MAE 1.23 · inside 75%/80% · direction ✓ (12 bars)`. */
export function legendText(p: Projection): string {
  return `${projectionName(p)} · ${madeText(p.created_at)} · ${statusText(p)}`;
}

/** A method's skill against the naive forecast as a signed percentage: `+12.3%`, `-4.0%`, `0.0%`. */
export function skillText(skill: number | null | undefined): string {
  if (typeof skill !== "number" || !Number.isFinite(skill)) return "—";
  const value = skill * 100;
  const sign = value > 0.05 ? "+" : value < -0.05 ? "-" : "";
  return `${sign}${Math.abs(value).toFixed(1)}%`;
}

/** A leaderboard row's figures, formatted (a method that failed on every cut has none). */
export function rowTexts(row: EvaluationRow): Record<"mae" | "mape" | "inside" | "direction" | "skill", string> {
  return {
    mae: fixed(row.mae, 2),
    mape: pct(row.mape_pct),
    inside: `${pct(row.inside_pct)}/${pct(row.level)}`,
    direction: pct(row.direction_hit_pct),
    skill: skillText(row.skill),
  };
}

export interface JobProgress {
  done: number;
  total: number;
  fraction: number;
  text: string;
}

/** How far a job has got over all its entries (`windows_done` of `windows_total`); `null` before it counts more than one step. */
export function jobProgress(job: JobStatus | null, noun: [string, string]): JobProgress | null {
  if (job === null) return null;
  let done = 0;
  let total = 0;
  for (const entry of job.symbols) {
    total += Math.max(0, entry.windows_total);
    done += Math.min(Math.max(0, entry.windows_done), Math.max(0, entry.windows_total));
  }
  if (total <= 1) return null;
  return { done, total, fraction: done / total, text: `${done.toLocaleString("en-US")} of ${total.toLocaleString("en-US")} ${total === 1 ? noun[0] : noun[1]}` };
}
