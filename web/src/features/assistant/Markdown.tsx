/**
 * An assistant message's content as markdown, safely: the model's output is untrusted.
 *
 * `markdown-to-jsx` builds React elements (never HTML strings, never `dangerouslySetInnerHTML`), so
 * text is escaped by React; raw HTML is not parsed at all (`disableParsingRawHTML`: a `<script>` is
 * shown as text). Links are drawn here, and only to `http(s):` and `mailto:` addresses (any other
 * target, `javascript:` included, leaves the words as plain text); images are never loaded (a remote
 * image would tell its server that the message was read): their alt text is shown instead. Headings
 * get no `id` (the page's own ids stay its own).
 *
 * Cited numbers (`citations.ts`) go through the markdown as placeholders; the text rule puts them
 * back as buttons that show the tool call they came from, or marked "no source".
 */
import { compiler, type MarkdownToJSX, RuleType } from "markdown-to-jsx";
import { createElement, Fragment, type ReactNode, useMemo } from "react";

import { citationSegments, type CiteSegment, markdownWithPlaceholders, restorePlaceholders, splitPlaceholders } from "./citations";
import type { Citation } from "./types";

const SAFE_PROTOCOL = /^(https?:|mailto:)/i;

/** A link target the pane may follow (absolute `http(s):` or `mailto:`), or `null`. */
export function safeHref(target: string | null | undefined): string | null {
  if (typeof target !== "string") return null;
  const text = target.trim();
  if (!SAFE_PROTOCOL.test(text)) return null;
  try {
    const url = new URL(text);
    return url.protocol === "http:" || url.protocol === "https:" || url.protocol === "mailto:" ? url.href : null;
  } catch {
    return null;
  }
}

function Cite({ cite, onCite, inAnchor }: { cite: CiteSegment; onCite: (toolCallId: string) => void; inAnchor: boolean }) {
  const source = cite.toolCallId;
  if (source === null) {
    return (
      <span className="cite cite-none" title="No source: no tool result holds this number" data-cite="none">
        {cite.text}
      </span>
    );
  }
  if (inAnchor) {
    return (
      <span className="cite" data-cite={source}>
        {cite.text}
      </span>
    );
  }
  return (
    <button type="button" className="cite" title="From a tool result: show it" onClick={() => onCite(source)} data-cite={source}>
      {cite.text}
    </button>
  );
}

interface Props {
  content: string;
  citations?: readonly Citation[] | undefined;
  /** A cited number with a source was clicked. */
  onCite?: (toolCallId: string) => void;
}

const NO_CITE = (): void => undefined;

export function MessageMarkdown({ content, citations, onCite = NO_CITE }: Props) {
  const rendered = useMemo(() => {
    const { source, cites } = markdownWithPlaceholders(citationSegments(content, citations ?? []));
    const renderRule: MarkdownToJSX.Options["renderRule"] = (next, node, renderChildren, state) => {
      const key = state.key;
      switch (node.type) {
        case RuleType.text:
          return (
            <Fragment key={key}>
              {splitPlaceholders(node.text, cites).map((part, i) =>
                typeof part === "string" ? part : <Cite key={i} cite={part} onCite={onCite} inAnchor={state.inAnchor === true} />,
              )}
            </Fragment>
          );
        case RuleType.codeInline:
          return <code key={key}>{restorePlaceholders(node.text, cites)}</code>;
        case RuleType.codeBlock:
          return (
            <pre key={key}>
              <code>{restorePlaceholders(node.text, cites)}</code>
            </pre>
          );
        case RuleType.link: {
          const href = safeHref(restorePlaceholders(node.target, cites));
          const children = renderChildren(node.children, { ...state, inAnchor: true });
          if (href === null) return <span key={key}>{children}</span>;
          return (
            <a key={key} href={href} target="_blank" rel="noopener noreferrer nofollow">
              {children}
            </a>
          );
        }
        case RuleType.image:
        case RuleType.refImage:
          return (
            <span key={key} className="muted">
              [image{node.alt ? `: ${restorePlaceholders(node.alt, cites)}` : ""}]
            </span>
          );
        case RuleType.heading:
          return createElement(`h${Math.min(6, node.level + 2)}`, { key, className: "md-heading" }, renderChildren(node.children, state));
        case RuleType.htmlBlock:
        case RuleType.htmlSelfClosing:
          // Not parsed (`disableParsingRawHTML`); should a rule still produce one, nothing of it is drawn as HTML.
          return null;
        default:
          return next();
      }
    };
    return compiler(source, {
      disableParsingRawHTML: true,
      forceBlock: true,
      wrapper: null,
      renderRule,
      sanitizer: (value) => safeHref(value),
      overrides: { a: { props: { target: "_blank", rel: "noopener noreferrer nofollow" } } },
    });
  }, [content, citations, onCite]);
  return <div className="md">{rendered as ReactNode}</div>;
}
