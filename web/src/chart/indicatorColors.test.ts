import { describe, expect, it } from "vitest";

import { dimColor, INDICATOR_COLORS, indicatorColors } from "./indicatorColors";

const [c0, c1, c2, c3, c4, c5] = INDICATOR_COLORS;

describe("indicatorColors", () => {
  it("gives every output of the indicators a palette colour of its own, in order", () => {
    expect(indicatorColors([{ color: null }, { color: null }, { color: null }], [1, 3, 1])).toEqual([[c0], [c1, c2, c3], [c4]]);
  });

  it("keeps the colours of the others when one takes a colour of its own", () => {
    expect(indicatorColors([{ color: "#123456" }, { color: null }], [2, 1])).toEqual([["#123456", c1], [c2]]);
    // A palette colour of its own: the other outputs follow it in the palette.
    expect(indicatorColors([{ color: c4 }, { color: null }], [2, 1])).toEqual([[c4, c5], [c2]]);
  });

  it("wraps round the palette", () => {
    expect(indicatorColors([{ color: null }, { color: null }], [INDICATOR_COLORS.length, 1])[1]).toEqual([c0]);
  });
});

describe("dimColor", () => {
  it("makes a hex colour faint and leaves others as they are", () => {
    expect(dimColor("#4f9cf9")).toBe("rgba(79, 156, 249, 0.35)");
    expect(dimColor("red")).toBe("red");
  });
});
