import { describe, expect, it } from "vitest";

import { formatBarTime, formatCompact, formatPrice, formatTick, isoToMs, TICK } from "./time";

const MIN = 60_000;
const DAY = 86_400_000;

describe("formatBarTime", () => {
  it("shows intraday bars in New York time, across DST", () => {
    // 2024-03-12 13:30 UTC = 09:30 EDT (UTC-4)
    expect(formatBarTime(Date.UTC(2024, 2, 12, 13, 30) / 1000, MIN)).toBe("2024-03-12 09:30");
    // 2024-01-12 14:30 UTC = 09:30 EST (UTC-5)
    expect(formatBarTime(Date.UTC(2024, 0, 12, 14, 30) / 1000, 5 * MIN)).toBe("2024-01-12 09:30");
  });

  it("shows the bar's own date for daily bars, however they are stamped", () => {
    expect(formatBarTime(Date.UTC(2024, 2, 12) / 1000, DAY)).toBe("2024-03-12");
    expect(formatBarTime(Date.UTC(2024, 2, 12, 4) / 1000, DAY)).toBe("2024-03-12");
  });

  it("shows seconds for sub-minute bars", () => {
    expect(formatBarTime(Date.UTC(2024, 2, 12, 13, 30, 15) / 1000, 1000)).toBe("2024-03-12 09:30:15");
  });
});

describe("formatTick", () => {
  const t = Date.UTC(2024, 2, 12, 13, 30) / 1000;
  it("labels each kind of tick", () => {
    expect(formatTick(t, TICK.Year, MIN)).toBe("2024");
    expect(formatTick(t, TICK.Month, MIN)).toBe("Mar");
    expect(formatTick(t, TICK.DayOfMonth, MIN)).toBe("12");
    expect(formatTick(t, TICK.Time, MIN)).toBe("09:30");
    expect(formatTick(t, TICK.TimeWithSeconds, MIN)).toBe("09:30:00");
  });
});

describe("isoToMs", () => {
  it("parses zoned, zone-less and date-only values as UTC", () => {
    expect(isoToMs("2024-03-12T13:30:00Z")).toBe(Date.UTC(2024, 2, 12, 13, 30));
    expect(isoToMs("2024-03-12T13:30:00")).toBe(Date.UTC(2024, 2, 12, 13, 30));
    expect(isoToMs("2024-03-12T09:30:00-04:00")).toBe(Date.UTC(2024, 2, 12, 13, 30));
    expect(isoToMs("2024-03-12")).toBe(Date.UTC(2024, 2, 12));
    expect(isoToMs(null)).toBeNull();
    expect(isoToMs("garbage")).toBeNull();
  });
});

describe("numbers", () => {
  it("formats volumes and prices compactly", () => {
    expect(formatCompact(1234)).toBe("1,234");
    expect(formatCompact(1_234_567)).toBe("1.23M");
    expect(formatPrice(187.5)).toBe("187.50");
    expect(formatPrice(0.001234)).toBe("0.001234");
  });
});
