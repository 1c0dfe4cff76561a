import { describe, expect, it } from "vitest";

import { formatInstant, isoToUtcInput, utcInputToIso } from "./instant";

describe("instants", () => {
  it("formats ISO instants in UTC", () => {
    expect(formatInstant("2024-05-01T13:04:05.123456+00:00")).toBe("2024-05-01 13:04:05 UTC");
    expect(formatInstant("2024-05-01T15:04:05+02:00")).toBe("2024-05-01 13:04:05 UTC");
    expect(formatInstant(null)).toBe("—");
    expect(formatInstant("soon")).toBe("soon");
  });

  it("reads datetime-local values as UTC and back", () => {
    expect(utcInputToIso("2024-05-01T13:04")).toBe("2024-05-01T13:04:00Z");
    expect(utcInputToIso("")).toBeNull();
    expect(utcInputToIso("2024-13-01T00:00")).toBeNull();
    expect(isoToUtcInput("2024-05-01T13:04:00Z")).toBe("2024-05-01T13:04");
    expect(isoToUtcInput(null)).toBe("");
  });
});
