/**
 * The strategy text editor: CodeMirror 6 with the language's highlighting (`language.ts`), completion
 * of its names (rules, series, builtins, the catalog's functions in lower case, the text's own names)
 * and the server's parse problems as lint marks. Loaded on demand (`import()`), so CodeMirror stays
 * out of the pages that never edit a strategy.
 *
 * The editor owns its text while it is mounted: `value` replaces it only when it differs from what
 * the editor holds (another strategy opened), and every edit goes to `onChange`.
 */
import { autocompletion, type Completion, type CompletionContext, type CompletionResult, completionKeymap } from "@codemirror/autocomplete";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { bracketMatching, HighlightStyle, StreamLanguage, syntaxHighlighting } from "@codemirror/language";
import { type Diagnostic, lintGutter, setDiagnostics } from "@codemirror/lint";
import { EditorState } from "@codemirror/state";
import { drawSelection, EditorView, highlightActiveLine, highlightActiveLineGutter, keymap, lineNumbers, placeholder } from "@codemirror/view";
import { tags } from "@lezer/highlight";
import { useEffect, useRef } from "react";

import type { ParseProblem } from "../../api/types";
import { problemRange } from "./diagnostics";
import { tokenAt, type TokenType, type WordOption, wordBefore } from "./language";

export interface StrategyEditorProps {
  value: string;
  onChange: (code: string) => void;
  /** The problems of `checked` (shown only while the text is still that). */
  problems: readonly ParseProblem[];
  checked: string | null;
  /** What completion offers. */
  words: readonly WordOption[];
  readOnly?: boolean;
  label: string;
  /** A single line (a screen's expression) rather than a program. */
  singleLine?: boolean;
  placeholderText?: string;
  testId?: string;
  /** Enter (with no completion open) in a one-line box. */
  onEnter?: () => void;
}

const TOKEN_TABLE: Record<TokenType, ReturnType<typeof tags.special>> = {
  comment: tags.lineComment,
  number: tags.number,
  keyword: tags.operatorKeyword,
  bool: tags.bool,
  rule: tags.special(tags.variableName),
  series: tags.standard(tags.variableName),
  builtin: tags.standard(tags.function(tags.variableName)),
  function: tags.function(tags.variableName),
  property: tags.propertyName,
  variable: tags.variableName,
  operator: tags.operator,
  bracket: tags.bracket,
  punctuation: tags.punctuation,
  invalid: tags.invalid,
};

const strategyLanguage = StreamLanguage.define<Record<string, never>>({
  name: "k2q-strategy",
  startState: () => ({}),
  token: (stream) => {
    if (stream.eatSpace()) return null;
    const { end, type } = tokenAt(stream.string, stream.pos);
    stream.pos = Math.max(end, stream.pos + 1);
    return type;
  },
  tokenTable: TOKEN_TABLE,
  languageData: { commentTokens: { line: "#" } },
});

const highlight = HighlightStyle.define([
  { tag: tags.lineComment, color: "#6b7689", fontStyle: "italic" },
  { tag: tags.number, color: "#f0b429" },
  { tag: [tags.operatorKeyword, tags.bool], color: "#c084fc" },
  { tag: tags.special(tags.variableName), color: "#60a5fa", fontWeight: "600" },
  { tag: tags.standard(tags.variableName), color: "#2dd4bf" },
  { tag: [tags.standard(tags.function(tags.variableName)), tags.function(tags.variableName)], color: "#facc15" },
  { tag: tags.propertyName, color: "#fb923c" },
  { tag: tags.operator, color: "#94a3b8" },
  { tag: tags.invalid, color: "#ef5350", textDecoration: "underline wavy" },
]);

const theme = EditorView.theme(
  {
    "&": { backgroundColor: "#0b0e13", color: "#d5dbe5", fontSize: "12px", border: "1px solid #2c3545", borderRadius: "4px" },
    "&.cm-focused": { outline: "none", borderColor: "#3b82f6" },
    ".cm-content": { fontFamily: "var(--mono)", caretColor: "#d5dbe5" },
    ".cm-gutters": { backgroundColor: "#0f131a", color: "#56627a", border: "none" },
    ".cm-activeLine": { backgroundColor: "#141a2366" },
    ".cm-activeLineGutter": { backgroundColor: "#141a23" },
    ".cm-tooltip": { backgroundColor: "#141a23", border: "1px solid #2c3545", color: "#d5dbe5" },
    ".cm-tooltip-autocomplete ul li[aria-selected]": { backgroundColor: "#2563eb", color: "white" },
    ".cm-completionDetail": { color: "#7e889b", marginLeft: "8px" },
    ".cm-scroller": { overflow: "auto" },
  },
  { dark: true },
);

function completionSource(words: () => readonly WordOption[]) {
  return (context: CompletionContext): CompletionResult | null => {
    const text = context.state.doc.toString();
    const found = wordBefore(text, context.pos);
    if (found === null && !context.explicit) return null;
    const from = found?.from ?? context.pos;
    if (found !== null && found.word.length < 1 && !context.explicit) return null;
    // A selector after a dot, a number, or text in a comment is nobody's name.
    if (text[from - 1] === ".") return null;
    const options: Completion[] = words().map((w) => ({ label: w.label, type: w.type, detail: w.detail, info: w.info, boost: w.boost }));
    return { from, options, validFor: /^[A-Za-z_][A-Za-z0-9_]*$/ };
  };
}

function diagnostics(text: string, problems: readonly ParseProblem[]): Diagnostic[] {
  return problems.map((problem) => {
    const range = problemRange(text, problem);
    return { from: range.from, to: range.to, severity: "error", message: range.message, source: "check" };
  });
}

export default function StrategyEditor({
  value,
  onChange,
  problems,
  checked,
  words,
  readOnly = false,
  label,
  singleLine = false,
  placeholderText = "",
  testId = "strategy-editor",
  onEnter,
}: StrategyEditorProps) {
  const host = useRef<HTMLDivElement | null>(null);
  const viewRef = useRef<EditorView | null>(null);
  const latest = useRef({ onChange, words, onEnter });
  useEffect(() => {
    latest.current = { onChange, words, onEnter };
  });

  // One editor per mount; its text and marks follow the props below.
  useEffect(() => {
    const parent = host.current;
    if (parent === null) return undefined;
    const view = new EditorView({
      parent,
      state: EditorState.create({
        doc: value,
        extensions: [
          singleLine ? [] : lineNumbers(),
          singleLine ? [] : highlightActiveLineGutter(),
          history(),
          drawSelection(),
          singleLine ? [] : highlightActiveLine(),
          bracketMatching(),
          strategyLanguage,
          syntaxHighlighting(highlight),
          autocompletion({ override: [completionSource(() => latest.current.words)], icons: false }),
          singleLine ? [] : lintGutter(),
          keymap.of([
            ...completionKeymap,
            {
              key: "Enter",
              run: () => {
                const enter = latest.current.onEnter;
                if (!singleLine || enter === undefined) return false;
                enter();
                return true;
              },
            },
            ...defaultKeymap,
            ...historyKeymap,
            singleLine ? [] : [indentWithTab],
          ].flat()),
          // A one-line box keeps one line: Enter and pasted line breaks do nothing.
          singleLine ? EditorState.transactionFilter.of((tr) => (tr.newDoc.lines > 1 ? [] : tr)) : [],
          placeholder(placeholderText),
          EditorState.readOnly.of(readOnly),
          EditorView.contentAttributes.of({ "aria-label": label, spellcheck: "false" }),
          EditorView.lineWrapping,
          EditorView.updateListener.of((update) => {
            if (update.docChanged) latest.current.onChange(update.state.doc.toString());
          }),
          theme,
        ],
      }),
    });
    viewRef.current = view;
    return () => {
      viewRef.current = null;
      view.destroy();
    };
    // The editor is made once; `value` and the rest are followed by the effects below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [readOnly, singleLine]);

  useEffect(() => {
    const view = viewRef.current;
    if (view === null) return;
    const current = view.state.doc.toString();
    if (current !== value) view.dispatch({ changes: { from: 0, to: current.length, insert: value } });
  }, [value]);

  useEffect(() => {
    const view = viewRef.current;
    if (view === null) return;
    const text = view.state.doc.toString();
    const shown = checked === text ? diagnostics(text, problems) : [];
    view.dispatch(setDiagnostics(view.state, shown));
  }, [problems, checked, value]);

  return <div ref={host} className={singleLine ? "code-editor code-editor-line" : "code-editor"} data-testid={testId} data-problems={checked === value ? problems.length : ""} />;
}
