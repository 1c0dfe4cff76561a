// @vitest-environment jsdom
// The indicator picker against a fake catalog: searching and picking, the parameter form, typed
// specs, and the list of indicators on the chart (hide, colour, edit, remove).
import { QueryClientProvider } from "@tanstack/react-query";
import { act, useState } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { createQueryClient } from "../../queries/queryClient";
import { type ActiveIndicator, newIndicator } from "../../state/indicators";
import { CATALOG } from "./catalogFixture";
import { IndicatorPicker } from "./IndicatorPicker";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

let root: Root | null = null;
let changes: ActiveIndicator[][] = [];
let requests: string[] = [];

beforeEach(() => {
  requests = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (url: string) => {
      requests.push(url);
      return new Response(JSON.stringify(CATALOG), { headers: { "Content-Type": "application/json" } });
    }),
  );
});

afterEach(async () => {
  await act(async () => root?.unmount());
  root = null;
  changes = [];
  vi.unstubAllGlobals();
});

interface HarnessProps {
  initial: ActiveIndicator[];
  problem: string | null;
  canonical?: Map<string, string>;
  notes?: Map<string, string>;
}

function Harness({ initial, problem, canonical, notes }: HarnessProps) {
  const [value, setValue] = useState(initial);
  return (
    <IndicatorPicker
      value={value}
      problem={problem}
      canonical={canonical}
      notes={notes}
      onChange={(next) => {
        changes.push(next);
        setValue(next);
      }}
    />
  );
}

const settle = () => act(async () => new Promise((r) => setTimeout(r, 10)));

async function mount(initial: ActiveIndicator[] = [], props: Omit<HarnessProps, "initial" | "problem"> & { problem?: string | null } = {}): Promise<HTMLElement> {
  const el = document.createElement("div");
  document.body.append(el);
  root = createRoot(el);
  await act(async () =>
    root?.render(
      <QueryClientProvider client={createQueryClient()}>
        <Harness initial={initial} problem={props.problem ?? null} canonical={props.canonical} notes={props.notes} />
      </QueryClientProvider>,
    ),
  );
  return el;
}

function $(el: HTMLElement, selector: string): HTMLElement {
  const found = el.querySelector<HTMLElement>(selector);
  if (found === null) throw new Error(`no ${selector}`);
  return found;
}
function $as<T extends HTMLElement>(kind: new () => T, el: HTMLElement, selector: string): T {
  const found = $(el, selector);
  if (!(found instanceof kind)) throw new Error(`${selector} is not a ${kind.name}`);
  return found;
}
const $input = (el: HTMLElement, selector: string) => $as(HTMLInputElement, el, selector);
const $form = (el: HTMLElement, selector: string) => $as(HTMLFormElement, el, selector);
const $button = (el: HTMLElement, selector: string) => $as(HTMLButtonElement, el, selector);

async function type(input: HTMLInputElement, text: string): Promise<void> {
  await act(async () => {
    Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value")?.set?.call(input, text);
    input.dispatchEvent(new Event("input", { bubbles: true }));
  });
}

async function search(el: HTMLElement, text: string): Promise<void> {
  const input = $input(el, '[data-testid="indicator-input"]');
  await act(async () => input.focus());
  await type(input, text);
  await settle();
}

async function submit(form: HTMLFormElement): Promise<void> {
  await act(async () => {
    form.dispatchEvent(new Event("submit", { bubbles: true, cancelable: true }));
  });
}

async function click(element: HTMLElement): Promise<void> {
  await act(async () => element.click());
  await settle();
}

const chips = (el: HTMLElement): string[] => [...el.querySelectorAll<HTMLElement>('[data-testid="indicator-chip"]')].map((c) => c.dataset.spec ?? "");
const problem = (el: HTMLElement): string | null => el.querySelector('[data-testid="indicator-problem"]')?.textContent ?? null;
const items = (el: HTMLElement): string[] => [...el.querySelectorAll<HTMLElement>('[data-testid="catalog-item"]')].map((c) => c.dataset.name ?? "");

describe("IndicatorPicker", () => {
  it("reads the catalog only once it is wanted, and lists it by group", async () => {
    const el = await mount();
    expect(requests).toEqual([]);
    await search(el, "");
    expect(requests).toEqual(["/api/v1/indicators/list"]);
    const groups = [...el.querySelectorAll(".catalog-group")].map((g) => g.textContent);
    expect(groups).toEqual(["Overlap Studies", "Momentum Indicators", "Pattern Recognition", "Cycle Indicators", "Math Operators", "K2 Quant"]);
  });

  it("searches by name and display name, and shows what cannot be drawn disabled with why", async () => {
    const el = await mount();
    await search(el, "moving average");
    expect(items(el)).toEqual(["EMA", "MACD", "MAVP", "SMA"]);
    const mavp = $button(el, '[data-name="MAVP"]');
    expect(mavp.disabled).toBe(true);
    expect(el.querySelector(".catalog-item-note")?.textContent).toBe("Needs a periods input, which a bar does not have");
  });

  it("adds a picked indicator with the spec its parameters make", async () => {
    const el = await mount([newIndicator("sma(20)")]);
    await search(el, "rsi");
    await click($(el, '[data-name="RSI"]'));
    const form = $form(el, '[data-testid="indicator-params"]');
    const period = $input(form, '[data-param="timeperiod"]');
    expect(period.value).toBe("14");
    expect(form.querySelector(".param-range")?.textContent).toBe("2 – 100000");
    expect($(form, '[data-testid="indicator-spec-preview"]').textContent).toBe("rsi");
    await type(period, "21");
    await submit(form);
    expect(changes).toEqual([[newIndicator("sma(20)"), newIndicator("rsi(21)")]]);
    expect(el.querySelector('[data-testid="indicator-params"]')).toBeNull();
  });

  it("checks each parameter as it is typed and adds nothing invalid", async () => {
    const el = await mount();
    await search(el, "bbands");
    await click($(el, '[data-name="BBANDS"]'));
    const form = $form(el, '[data-testid="indicator-params"]');
    await type($input(form, '[data-param="timeperiod"]'), "1.5");
    expect($(form, '[data-testid="param-problem"][data-param="timeperiod"]').textContent).toBe("A whole number.");
    expect($button(form, '[data-testid="indicator-submit"]').disabled).toBe(true);
    await submit(form);
    expect(changes).toEqual([]);
    // Moving-average kinds are a choice by name.
    const kinds = [...form.querySelectorAll('[data-param="matype"] option')].map((o) => o.textContent);
    expect(kinds).toEqual(["SMA", "EMA", "WMA", "DEMA", "TEMA", "TRIMA", "KAMA", "MAMA", "T3"]);
  });

  it("adds a typed spec on Enter, normalised, and refuses what cannot be one or is already there", async () => {
    const el = await mount([newIndicator("rsi")], { canonical: new Map([["rsi", "rsi(14)"]]) });
    const form = $form(el, ".indicator-form");
    await type($input(el, '[data-testid="indicator-input"]'), "__import__('os')");
    await submit(form);
    expect(problem(el)).toMatch(/not of the form/);
    // The server answered rsi as rsi(14): typing that is the same indicator.
    await type($input(el, '[data-testid="indicator-input"]'), "RSI(14)");
    await submit(form);
    expect(problem(el)).toMatch(/already on the chart/);
    await type($input(el, '[data-testid="indicator-input"]'), " MACD(fastperiod=8, slowperiod=21) ");
    await submit(form);
    expect(changes).toEqual([[newIndicator("rsi"), newIndicator("macd(fastperiod=8,slowperiod=21)")]]);
    expect($input(el, '[data-testid="indicator-input"]').value).toBe("");
  });

  it("hides, colours and removes indicators on the chart", async () => {
    const el = await mount([newIndicator("sma(20)"), newIndicator("rsi")]);
    await click($(el, '[aria-label="Hide rsi"]'));
    expect(changes.at(-1)).toEqual([newIndicator("sma(20)"), { spec: "rsi", hidden: true, color: null }]);
    expect($(el, '[data-spec="rsi"]').dataset.hidden).toBe("true");
    await click($(el, '[aria-label="Colour of sma(20)"]'));
    await click($(el, '[data-testid="indicator-swatch"][data-color="#22d3ee"]'));
    expect(changes.at(-1)?.[0]).toEqual({ spec: "sma(20)", hidden: false, color: "#22d3ee" });
    await click($(el, '[aria-label="Remove sma(20)"]'));
    expect(chips(el)).toEqual(["rsi"]);
  });

  it("edits an indicator in its form, keeping its colour and hidden flag", async () => {
    const el = await mount([{ spec: "macd(fastperiod=8,slowperiod=21)", hidden: true, color: "#c084fc" }]);
    await click($(el, '[data-testid="indicator-edit"]'));
    const form = $form(el, '[data-testid="indicator-params"]');
    expect([...form.querySelectorAll<HTMLInputElement>("input")].map((i) => i.value)).toEqual(["8", "21", "9"]);
    expect($(form, '[data-testid="indicator-submit"]').textContent).toBe("Save");
    await type($input(form, '[data-param="signalperiod"]'), "5");
    await submit(form);
    expect(changes).toEqual([[{ spec: "macd(8,21,5)", hidden: true, color: "#c084fc" }]]);
  });

  it("shows why the server refused a spec, and why an indicator has no value", async () => {
    const el = await mount([newIndicator("rsi(14)")], {
      problem: "nosuch(3): unknown indicator 'nosuch': not a TA-Lib function",
      notes: new Map([["rsi(14)", "RSI(14) needs 15 bars; this series has 10"]]),
    });
    expect(problem(el)).toContain("not a TA-Lib function");
    expect(el.querySelector('[data-testid="indicator-note"]')?.textContent).toBe("RSI(14) needs 15 bars; this series has 10");
  });
});
