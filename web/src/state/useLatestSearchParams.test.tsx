// @vitest-environment jsdom
// Two updates from the same render (a click, then the chart's debounced view): the second keeps the first.
import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { MemoryRouter, type NavigateFunction, type SetURLSearchParams, useLocation, useNavigate } from "react-router-dom";
import { afterEach, describe, expect, it } from "vitest";

import { useLatestSearchParams } from "./useLatestSearchParams";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

let root: Root | null = null;
let firstSetter: SetURLSearchParams | null = null;
let search = "";
let navigateElsewhere: NavigateFunction | null = null;

function keepFirst(setter: SetURLSearchParams): void {
  firstSetter ??= setter;
}
function keepSearch(value: string): void {
  search = value;
}
function keepNavigate(navigate: NavigateFunction): void {
  navigateElsewhere = navigate;
}

function Harness() {
  const [, setParams] = useLatestSearchParams();
  keepFirst(setParams);
  keepSearch(useLocation().search);
  keepNavigate(useNavigate());
  return null;
}

afterEach(async () => {
  await act(async () => root?.unmount());
  root = null;
  firstSetter = null;
});

describe("useLatestSearchParams", () => {
  it("builds an update on the params last asked for, even from a setter of an older render", async () => {
    root = createRoot(document.createElement("div"));
    await act(async () => root?.render(<MemoryRouter initialEntries={["/analysis?table=t&tf=1m"]}><Harness /></MemoryRouter>));
    const set = firstSetter;
    if (set === null) throw new Error("not rendered");
    await act(async () => {
      set((prev) => {
        prev.set("session", "regular");
        return prev;
      });
      set((prev) => {
        prev.set("from", "1");
        return prev;
      }, { replace: true });
    });
    expect(new URLSearchParams(search).toString()).toBe("table=t&tf=1m&session=regular&from=1");
  });

  it("builds on a navigation it did not make (back, forward, a link)", async () => {
    root = createRoot(document.createElement("div"));
    await act(async () => root?.render(<MemoryRouter initialEntries={["/a?x=1"]}><Harness /></MemoryRouter>));
    const set = firstSetter;
    const navigate = navigateElsewhere;
    if (set === null || navigate === null) throw new Error("not rendered");
    await act(async () => {
      void navigate("/a?y=2");
    });
    await act(async () => {
      set((prev) => {
        prev.set("z", "3");
        return prev;
      });
    });
    expect(search).toBe("?y=2&z=3");
  });
});
