// @vitest-environment jsdom
// The model's markdown rendered safely: raw HTML and script links inert, no remote image loaded; cited numbers linked or marked "no source".
import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterEach, describe, expect, it, vi } from "vitest";

import { MessageMarkdown, safeHref } from "./Markdown";
import type { Citation } from "./types";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

let root: Root | null = null;
let host: HTMLDivElement | null = null;

afterEach(async () => {
  await act(async () => root?.unmount());
  root = null;
  host?.remove();
});

async function render(content: string, citations: Citation[] = [], onCite?: (id: string) => void): Promise<HTMLDivElement> {
  host = document.createElement("div");
  document.body.append(host);
  root = createRoot(host);
  await act(async () => root?.render(<MessageMarkdown content={content} citations={citations} onCite={onCite} />));
  return host;
}

describe("MessageMarkdown", () => {
  it("renders markdown", async () => {
    const el = await render("**Bold** and `code`\n\n- one\n- two\n\n[docs](https://example.com/a)");
    expect(el.querySelector("strong")?.textContent).toBe("Bold");
    expect(el.querySelector("code")?.textContent).toBe("code");
    expect(el.querySelectorAll("li")).toHaveLength(2);
    const link = el.querySelector("a");
    expect(link?.getAttribute("href")).toBe("https://example.com/a");
    expect(link?.getAttribute("rel")).toContain("noopener");
  });

  it("leaves raw HTML and script links inert", async () => {
    const hostile = [
      "<script>window.pwned = 1</script>",
      '<img src=x onerror="window.pwned = 2">',
      "[click](javascript:window.pwned=3)",
      "[again](JaVaScRiPt:alert(1))",
      "[data](data:text/html;base64,PHNjcmlwdD4=)",
      "<a href=\"javascript:alert(1)\">raw link</a>",
      "![pixel](https://tracker.example/p.png)",
      "<iframe src=\"https://evil.example\"></iframe>",
    ].join("\n\n");
    const el = await render(hostile);
    expect(el.querySelector("script, img, iframe, [onerror]")).toBeNull();
    for (const a of el.querySelectorAll("a")) expect(a.getAttribute("href") ?? "").toMatch(/^https?:/);
    for (const node of el.querySelectorAll("*")) {
      for (const attr of node.attributes) expect(`${attr.name}=${attr.value}`).not.toMatch(/^on|(javascript|data|vbscript):/i);
    }
    expect(el.textContent).toContain("<script>window.pwned = 1</script>");
    expect(el.textContent).toContain("click");
    expect(el.textContent).toContain("[image: pixel]");
    expect((window as { pwned?: number }).pwned).toBeUndefined();
  });

  it("links a cited number to its tool call and marks one without a source", async () => {
    const onCite = vi.fn();
    const content = "RSI **41.2**, target 190.";
    const el = await render(content, [
      { start: 8, end: 12, text: "41.2", tool_call_id: "call_1" },
      { start: 21, end: 24, text: "190", tool_call_id: null },
    ], onCite);
    const linked = el.querySelector<HTMLButtonElement>("button.cite");
    expect(linked?.textContent).toBe("41.2");
    expect(linked?.closest("strong")).not.toBeNull(); // inside the markdown it was in
    await act(async () => linked?.click());
    expect(onCite).toHaveBeenCalledWith("call_1");
    const none = el.querySelector(".cite-none");
    expect(none?.textContent).toBe("190");
    expect(none?.getAttribute("title")).toMatch(/no source/i);
    expect(el.textContent).toBe("RSI 41.2, target 190.");
  });
});

describe("safeHref", () => {
  it("takes only http(s) and mailto addresses", () => {
    expect(safeHref("https://a.example/x?y=1")).toBe("https://a.example/x?y=1");
    expect(safeHref("mailto:a@b.example")).toBe("mailto:a@b.example");
    for (const bad of ["javascript:alert(1)", " javascript:x", "java\tscript:x", "data:text/html,x", "vbscript:x", "/admin", "//evil.example", ""]) {
      expect(safeHref(bad)).toBeNull();
    }
  });
});
