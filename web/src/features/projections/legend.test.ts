// Projections in words: the chart legend's line, scores, the leaderboard's figures, a job's progress.
import { describe, expect, it } from "vitest";

import type { JobStatus, Projection } from "../../api/types";
import { jobProgress, legendText, pct, projectionColor, PROJECTION_COLORS, rowTexts, scoreText, skillText, statusText } from "./legend";

const BASE: Projection = {
  id: "p1",
  symbol: "DEMO",
  series: "1d",
  adjusted: true,
  session: "extended",
  owner: "ann",
  timeframe: "1d",
  method: "gbm",
  params: { window: 252, paths: 1000, seed: 0, level: 80 },
  created_at: "2024-05-01T18:03:00Z",
  last_bar: "2024-05-01T04:00:00Z",
  horizon: 20,
  status: "complete",
  level: 80,
  error: null,
  first_ts: 1_714_622_400_000,
  last_ts: 1_717_041_600_000,
  score: null,
};

describe("legend", () => {
  it("names the method, horizon and level, when it was made (New York time), and that it awaits its bars", () => {
    expect(legendText(BASE)).toBe("GBM h20 80% · made 2024-05-01 14:03 ET · not scored yet");
  });

  it("adds the score: MAE, the share of closes inside the band against its level, the direction", () => {
    const scored = { ...BASE, method: "linreg" as const, score: { mae: 1.234, mape_pct: 0.8, inside_pct: 75, level: 80, direction_hit: true, bars: 12 } };
    expect(legendText(scored)).toBe("LinReg h20 80% · made 2024-05-01 14:03 ET · MAE 1.23 · inside 75%/80% · direction ✓ (12 bars)");
    expect(scoreText({ mae: 0.5, mape_pct: 1, inside_pct: 100, level: 95, direction_hit: false, bars: 1 })).toBe("MAE 0.50 · inside 100%/95% · direction ✗ (1 bar)");
  });

  it("says where a projection without a score stands", () => {
    expect(statusText({ ...BASE, status: "queued" })).toBe("queued");
    expect(statusText({ ...BASE, status: "running" })).toBe("computing…");
    expect(statusText({ ...BASE, status: "failed", error: "too few bars" })).toBe("failed: too few bars");
    expect(statusText({ ...BASE, status: "failed", error: null })).toBe("failed");
  });

  it("formats percentages and skill against naive", () => {
    expect(pct(78.4)).toBe("78%");
    expect(pct(2.46)).toBe("2.5%");
    expect(pct(null)).toBe("—");
    expect(skillText(0.1234)).toBe("+12.3%");
    expect(skillText(-0.04)).toBe("-4.0%");
    expect(skillText(0)).toBe("0.0%");
    expect(skillText(Number.NaN)).toBe("—");
    expect(rowTexts({ method: "ets", mae: 2, mape_pct: 1.5, inside_pct: 82, level: 80, direction_hit_pct: 55, skill: 0.2, cuts_scored: 20 })).toEqual({
      mae: "2.00",
      mape: "1.5%",
      inside: "82%/80%",
      direction: "55%",
      skill: "+20.0%",
    });
  });

  it("gives each projection drawn a colour of its own, cycling", () => {
    expect(projectionColor(0)).toBe(PROJECTION_COLORS[0]);
    expect(projectionColor(1)).not.toBe(projectionColor(0));
    expect(projectionColor(PROJECTION_COLORS.length)).toBe(PROJECTION_COLORS[0]);
  });

  it("counts a job's progress over its entries, once it has counted more than one step", () => {
    const job = (symbols: { windows_done: number; windows_total: number }[]): JobStatus =>
      ({ job_id: "j", state: "running", symbols: symbols.map((s, i) => ({ symbol: `s${i}`, windows_failed: 0, bars: 0, error: null, table: null, ...s })) }) as unknown as JobStatus;
    expect(jobProgress(null, ["cut", "cuts"])).toBeNull();
    expect(jobProgress(job([{ windows_done: 0, windows_total: 0 }]), ["cut", "cuts"])).toBeNull();
    expect(jobProgress(job([{ windows_done: 7, windows_total: 20 }]), ["cut", "cuts"])).toEqual({ done: 7, total: 20, fraction: 0.35, text: "7 of 20 cuts" });
    expect(jobProgress(job([{ windows_done: 1, windows_total: 1 }]), ["cut", "cuts"])).toBeNull();
    expect(jobProgress(job([{ windows_done: 3, windows_total: 2 }, { windows_done: 0, windows_total: 2 }]), ["cut", "cuts"])?.text).toBe("2 of 4 cuts");
  });
});
