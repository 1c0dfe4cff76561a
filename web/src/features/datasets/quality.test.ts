import { describe, expect, it } from "vitest";

import type { DataQuality } from "../../api/types";
import { formatCoverage, gapLabel, qualityIssues, qualityLine, qualityTone } from "./quality";

function quality(over: Partial<DataQuality>): DataQuality {
  return {
    basis: "regular_session", bars: 400, expected: 390, present: 384, coverage: 384 / 390, gaps: 2, missing: 6,
    largest_gaps: [], duplicates_dropped: 0, zero_volume_bars: 0, zero_volume_runs: 0, ohlc_violations: 0,
    ohlc: { high_below_body: 0, low_above_body: 0, high_below_low: 0, non_positive: 0 },
    window_start: "2024-03-05T05:00:00Z", window_end: "2024-03-06T04:59:59.999Z", assessed_at: "2024-03-07T00:00:00Z",
    ...over,
  };
}

describe("data quality in words", () => {
  it("formats coverage without rounding up to 100 %", () => {
    expect(formatCoverage(1)).toBe("100%");
    expect(formatCoverage(0.99999)).toBe("99.99%");
    expect(formatCoverage(0.9846)).toBe("98.4%");
    expect(formatCoverage(0.05)).toBe("5.00%");
    expect(formatCoverage(null)).toBe("—");
  });

  it("rates coverage and lists the issues", () => {
    expect(qualityTone(quality({ coverage: 0.999 }))).toBe("good");
    expect(qualityTone(quality({ coverage: 0.96 }))).toBe("fair");
    expect(qualityTone(quality({ coverage: 0.5 }))).toBe("poor");
    expect(qualityTone(quality({ coverage: null }))).toBe("none");
    expect(qualityTone(null)).toBe("none");
    expect(qualityIssues(quality({ gaps: 1, ohlc_violations: 2, zero_volume_runs: 1 }))).toEqual(["1 gap", "2 OHLC errors", "1 zero-volume run"]);
    expect(qualityLine(quality({}))).toBe("98.4% · 2 gaps");
    expect(qualityLine(quality({ coverage: 1, gaps: 0, missing: 0 }))).toBe("100%");
    expect(qualityLine(null)).toBe("not assessed");
  });

  it("labels a gap in New York time", () => {
    expect(gapLabel({ start: "2024-03-05T14:45:00Z", end: "2024-03-05T14:50:00Z", missing: 5 })).toBe(
      "2024-03-05 09:45 ET → 2024-03-05 09:50 ET (5 missing)",
    );
  });
});
