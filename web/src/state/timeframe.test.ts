import { describe, expect, it } from "vitest";

import { bucketMs, isTimeframe, nativeTimeframe, timeframeAvailable } from "./timeframe";

describe("bucketMs", () => {
  it("parses counts and units", () => {
    expect(bucketMs("1m")).toBe(60_000);
    expect(bucketMs("15m")).toBe(900_000);
    expect(bucketMs("4h")).toBe(4 * 3_600_000);
    expect(bucketMs("1d")).toBe(86_400_000);
    expect(bucketMs("1w")).toBe(7 * 86_400_000);
    expect(bucketMs("1M")).toBe(30 * 86_400_000);
    expect(bucketMs("30s")).toBe(30_000);
  });

  it("rejects nonsense", () => {
    expect(bucketMs("")).toBeNull();
    expect(bucketMs("0m")).toBeNull();
    expect(bucketMs("1x")).toBeNull();
    expect(bucketMs(null)).toBeNull();
  });
});

describe("timeframes of datasets", () => {
  it("defaults to the dataset's own bar width", () => {
    expect(nativeTimeframe({ timespan: "day", multiplier: 1 })).toBe("1d");
    expect(nativeTimeframe({ timespan: "minute", multiplier: 5 })).toBe("5m");
    expect(nativeTimeframe({ timespan: "minute", multiplier: 2 })).toBe("5m");
    expect(nativeTimeframe({ timespan: "quarter", multiplier: 1 })).toBe("1M");
  });

  it("refuses timeframes finer than the stored bars", () => {
    expect(timeframeAvailable("1h", { timespan: "day", multiplier: 1 })).toBe(false);
    expect(timeframeAvailable("1w", { timespan: "day", multiplier: 1 })).toBe(true);
  });

  it("recognises the vocabulary", () => {
    expect(isTimeframe("1M")).toBe(true);
    expect(isTimeframe("2h")).toBe(false);
  });
});
