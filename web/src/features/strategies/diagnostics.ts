/**
 * Parse problems (1-based line and column, from `/strategies/check`) as ranges of the editor's text
 * (pure): from the column to the end of the token there, or a point at the end of the text when the
 * problem is past it (an unexpected end).
 */
import type { ParseProblem } from "../../api/types";
import { tokenAt } from "./language";

export interface ProblemRange {
  from: number;
  to: number;
  message: string;
}

/** A problem in words, with the closest known name when there is one. */
export function problemMessage(problem: ParseProblem): string {
  const suggestion = problem.suggestion ?? null;
  if (suggestion === null || suggestion === "" || /did you mean/i.test(problem.message)) return problem.message;
  return `${problem.message} (did you mean ${suggestion}?)`;
}

/** `line 3, column 14: …`, as the problems list under the editor says it. */
export function problemLine(problem: ParseProblem): string {
  return `line ${problem.line}, column ${problem.column}: ${problemMessage(problem)}`;
}

/** Where `problem` is in `text`. */
export function problemRange(text: string, problem: ParseProblem): ProblemRange {
  const lines = text.split("\n");
  const message = problemMessage(problem);
  if (problem.line < 1 || problem.line > lines.length) return { from: text.length, to: text.length, message };
  let start = 0;
  for (let i = 0; i < problem.line - 1; i += 1) start += (lines[i]?.length ?? 0) + 1;
  const line = lines[problem.line - 1] ?? "";
  const column = Math.max(0, Math.min(problem.column - 1, line.length));
  if (column >= line.length || /\s/.test(line[column] ?? "")) return { from: start + column, to: start + column, message };
  const { end } = tokenAt(line, column);
  return { from: start + column, to: start + Math.max(end, column + 1), message };
}
