// Cited numbers cut out of a message (code-point offsets, numbers with no source, offsets that do not hold their text), and their placeholders.
import { describe, expect, it } from "vitest";

import { citationSegments, markdownWithPlaceholders, placeholder, restorePlaceholders, splitPlaceholders } from "./citations";
import type { Citation } from "./types";

const cite = (start: number, end: number, text: string, tool: string | null): Citation => ({ start, end, text, tool_call_id: tool });

describe("citationSegments", () => {
  it("cuts the content at its citations, with and without a source", () => {
    const content = "RSI is 41.2 and the close 187.5 (est. 190).";
    const segments = citationSegments(content, [cite(26, 31, "187.5", "c2"), cite(7, 11, "41.2", "c1"), cite(38, 41, "190", null)]);
    expect(segments).toEqual([
      { kind: "text", text: "RSI is " },
      { kind: "cite", text: "41.2", toolCallId: "c1", index: 0 },
      { kind: "text", text: " and the close " },
      { kind: "cite", text: "187.5", toolCallId: "c2", index: 1 },
      { kind: "text", text: " (est. " },
      { kind: "cite", text: "190", toolCallId: null, index: 2 },
      { kind: "text", text: ")." },
    ]);
    expect(segments.map((s) => s.text).join("")).toBe(content);
  });

  it("counts offsets in code points, as the server does", () => {
    const content = "📈 up 12% today";
    // Python: "📈" is one character, so "12" starts at 5 (JavaScript's UTF-16 index would be 6).
    expect(citationSegments(content, [cite(5, 7, "12", "c1")])).toEqual([
      { kind: "text", text: "📈 up " },
      { kind: "cite", text: "12", toolCallId: "c1", index: 0 },
      { kind: "text", text: "% today" },
    ]);
  });

  it("looks for a citation whose offsets miss its text after the one before, and drops overlaps and strangers", () => {
    const content = "from 10 to 20";
    const segments = citationSegments(content, [cite(0, 2, "10", "a"), cite(6, 8, "20", "b"), cite(5, 7, "10", "dup"), cite(0, 3, "99", "c")]);
    expect(segments.flatMap((s) => (s.kind === "cite" ? [[s.text, s.toolCallId]] : []))).toEqual([
      ["10", "a"],
      ["20", "b"],
    ]);
    expect(segments.map((s) => s.text).join("")).toBe(content);
  });

  it("gives the content back whole without citations", () => {
    expect(citationSegments("plain", [])).toEqual([{ kind: "text", text: "plain" }]);
    expect(citationSegments("", [])).toEqual([]);
  });
});

describe("placeholders", () => {
  it("stand for each citation in the markdown, and cannot be forged by the content", () => {
    const forged = `a ${placeholder(0)} b 7`;
    const { source, cites } = markdownWithPlaceholders(citationSegments(forged, [cite(6, 7, "7", "c1")]));
    expect(cites).toHaveLength(1);
    expect(source).toBe(`a \uFFFD b ${placeholder(0)}`);
    expect(splitPlaceholders(source, cites)).toEqual(["a \uFFFD b ", cites[0]]);
    expect(restorePlaceholders(source, cites)).toBe("a \uFFFD b 7");
  });
});
