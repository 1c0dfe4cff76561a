// Smoke test: each page renders (server-side, so without effects) and exposes its test hooks.
import { renderToString } from "react-dom/server";
import { MemoryRouter } from "react-router-dom";
import { describe, expect, it } from "vitest";

import { App } from "../App";
import Analysis from "./Analysis";

function render(path: string, element = <App />): string {
  return renderToString(<MemoryRouter initialEntries={[path]}>{element}</MemoryRouter>);
}

describe("pages", () => {
  it("renders the shell and the landing page", () => {
    const html = render("/");
    expect(html).toContain("K2 Quant");
    expect(html).toContain('data-testid="store-status"');
  });

  it("renders the fetch form with the synthetic explanation reachable", () => {
    const html = render("/fetch");
    expect(html).toContain('data-testid="fetch-form"');
    expect(html).toContain("Synthetic");
  });

  it("renders the analysis panes with the chart's test attributes", () => {
    const html = render("/analysis?table=x&tf=1h", <Analysis />);
    expect(html).toMatch(/data-testid="chart"[^>]*data-bars="0"[^>]*data-bucket=""[^>]*data-loading="false"/);
    expect(html).toContain('data-testid="timeframes"');
    expect(html).toContain('data-tf="1h"');
  });
});
