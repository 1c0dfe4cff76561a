// @vitest-environment jsdom
// The indicator picker: adding on Enter, refusing what can never be a spec, removing chips, showing the server's reason.
import { act, useState } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterEach, describe, expect, it } from "vitest";

import { IndicatorPicker } from "./IndicatorPicker";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

let root: Root | null = null;
let changes: string[][] = [];

afterEach(async () => {
  await act(async () => root?.unmount());
  root = null;
  changes = [];
});

function Harness({ initial, problem }: { initial: string[]; problem: string | null }) {
  const [value, setValue] = useState(initial);
  return (
    <IndicatorPicker
      value={value}
      problem={problem}
      onChange={(next) => {
        changes.push(next);
        setValue(next);
      }}
    />
  );
}

async function mount(initial: string[] = [], problem: string | null = null): Promise<HTMLElement> {
  const el = document.createElement("div");
  document.body.append(el);
  root = createRoot(el);
  await act(async () => root?.render(<Harness initial={initial} problem={problem} />));
  return el;
}

async function add(el: HTMLElement, text: string): Promise<void> {
  const input = el.querySelector<HTMLInputElement>('[data-testid="indicator-input"]');
  await act(async () => {
    Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value")?.set?.call(input, text);
    input?.dispatchEvent(new Event("input", { bubbles: true }));
  });
  await act(async () => {
    el.querySelector("form")?.dispatchEvent(new Event("submit", { bubbles: true, cancelable: true }));
  });
}

const chips = (el: HTMLElement): string[] => [...el.querySelectorAll<HTMLElement>('[data-testid="indicator-chip"]')].map((c) => c.dataset.spec ?? "");
const problem = (el: HTMLElement): string | null => el.querySelector('[data-testid="indicator-problem"]')?.textContent ?? null;

describe("IndicatorPicker", () => {
  it("adds a typed spec, normalised, and clears the input", async () => {
    const el = await mount(["sma(20)"]);
    await add(el, " BBands(20, 2, 2) ");
    expect(changes).toEqual([["sma(20)", "bbands(20,2,2)"]]);
    expect(chips(el)).toEqual(["sma(20)", "bbands(20,2,2)"]);
    expect(el.querySelector<HTMLInputElement>('[data-testid="indicator-input"]')?.value).toBe("");
  });

  it("refuses malformed and repeated specs with a reason, changing nothing", async () => {
    const el = await mount(["rsi"]);
    await add(el, "__import__('os')");
    expect(problem(el)).toMatch(/not of the form/);
    await add(el, "RSI");
    expect(problem(el)).toMatch(/already on the chart/);
    expect(changes).toEqual([]);
  });

  it("removes an indicator with its chip", async () => {
    const el = await mount(["sma(20)", "rsi"]);
    await act(async () => el.querySelector<HTMLButtonElement>('[aria-label="Remove sma(20)"]')?.click());
    expect(changes).toEqual([["rsi"]]);
    expect(chips(el)).toEqual(["rsi"]);
  });

  it("shows why the server refused a spec, and suggests common specs not yet shown", async () => {
    const el = await mount(["sma(20)"], "nosuch(3): unknown indicator 'nosuch': not a TA-Lib function");
    expect(problem(el)).toContain("not a TA-Lib function");
    const options = [...el.querySelectorAll("datalist option")].map((o) => o.getAttribute("value"));
    expect(options).toContain("rsi(14)");
    expect(options).not.toContain("sma(20)");
  });
});
