/**
 * Citations in an assistant message (pure): each marks a number in the content, with the tool call
 * whose result holds it (or none: a number with no source).
 *
 * The server counts offsets in characters (code points, as Python does); JavaScript strings count
 * UTF-16 units, so the content is cut as an array of code points. A citation whose offsets do not
 * hold its text (the content was edited, or counted otherwise) is looked for after the previous one;
 * one that overlaps another or is not found is dropped.
 *
 * For the markdown, each cited number is replaced by one character of Unicode's private use area
 * (`placeholder(i)`), which no markdown rule splits or interprets; the renderer's text rule puts the
 * citation back (`splitPlaceholders`). Private-use characters in the content itself are replaced
 * first, so the model cannot forge a citation.
 */
import type { Citation } from "./types";

export type Segment = { kind: "text"; text: string } | { kind: "cite"; text: string; toolCallId: string | null; index: number };

const PUA_FIRST = 0xe000;
const PUA_LAST = 0xf8ff;
/** Most citations marked in one message (one private-use character each). */
export const MAX_CITATIONS = PUA_LAST - PUA_FIRST + 1;
const PUA = /[\uE000-\uF8FF]/g;
const REPLACEMENT = "\uFFFD";

function indexOfSeq(chars: readonly string[], needle: readonly string[], from: number): number {
  if (needle.length === 0) return -1;
  outer: for (let i = Math.max(0, from); i + needle.length <= chars.length; i += 1) {
    for (let j = 0; j < needle.length; j += 1) if (chars[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** The content cut into plain text and cited numbers, in order; the texts joined give the content back. */
export function citationSegments(content: string, citations: readonly Citation[] = []): Segment[] {
  const chars = Array.from(content);
  const sorted = citations
    .filter((c) => Number.isInteger(c.start) && Number.isInteger(c.end) && typeof c.text === "string" && c.text !== "")
    .slice()
    .sort((a, b) => a.start - b.start);
  const segments: Segment[] = [];
  let cursor = 0;
  let index = 0;
  for (const c of sorted) {
    if (index >= MAX_CITATIONS) break;
    const needle = Array.from(c.text);
    let start = c.start;
    if (!(start >= cursor && c.end <= chars.length && chars.slice(start, c.end).join("") === c.text)) {
      start = indexOfSeq(chars, needle, cursor);
      if (start < 0) continue;
    }
    const end = start + needle.length;
    if (start > cursor) segments.push({ kind: "text", text: chars.slice(cursor, start).join("") });
    segments.push({ kind: "cite", text: c.text, toolCallId: c.tool_call_id ?? null, index });
    index += 1;
    cursor = end;
  }
  if (cursor < chars.length) segments.push({ kind: "text", text: chars.slice(cursor).join("") });
  return segments;
}

/** The character standing for citation `index` in the markdown. */
export function placeholder(index: number): string {
  return String.fromCharCode(PUA_FIRST + index);
}

export type CiteSegment = Extract<Segment, { kind: "cite" }>;

/** The markdown to render (each cited number a placeholder) and the citations, by index. */
export function markdownWithPlaceholders(segments: readonly Segment[]): { source: string; cites: CiteSegment[] } {
  const cites: CiteSegment[] = [];
  let source = "";
  for (const s of segments) {
    if (s.kind === "text") {
      source += s.text.replace(PUA, REPLACEMENT);
    } else {
      source += placeholder(cites.length);
      cites.push(s);
    }
  }
  return { source, cites };
}

/** Text with its placeholders: plain strings and the citations they stand for, in order. */
export function splitPlaceholders(text: string, cites: readonly CiteSegment[]): (string | CiteSegment)[] {
  const parts: (string | CiteSegment)[] = [];
  let plain = "";
  for (const ch of text) {
    const code = ch.charCodeAt(0);
    const cite = ch.length === 1 && code >= PUA_FIRST && code <= PUA_LAST ? cites[code - PUA_FIRST] : undefined;
    if (cite === undefined) {
      plain += ch;
      continue;
    }
    if (plain !== "") parts.push(plain);
    plain = "";
    parts.push(cite);
  }
  if (plain !== "") parts.push(plain);
  return parts;
}

/** Text with its placeholders put back as the numbers they stand for (code, link targets, alt texts). */
export function restorePlaceholders(text: string, cites: readonly CiteSegment[]): string {
  return splitPlaceholders(text, cites)
    .map((p) => (typeof p === "string" ? p : p.text))
    .join("");
}
