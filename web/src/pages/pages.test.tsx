// Smoke test: each page renders (server-side, so without effects) and exposes its test hooks.
import { QueryClientProvider } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { renderToString } from "react-dom/server";
import { MemoryRouter } from "react-router-dom";
import { describe, expect, it } from "vitest";

import type { Role } from "../api/types";
import { App } from "../App";
import { AuthContext, type AuthState, authFromState } from "../features/auth/context";
import { createQueryClient } from "../queries/queryClient";
import Analysis from "./Analysis";

const signedIn = (role: Role): AuthState => ({ status: "signed-in", user: { username: `the-${role}`, role, auth: "session" } });

function render(path: string, element = <App auth={signedIn("analyst")} />): string {
  return renderToString(
    <QueryClientProvider client={createQueryClient()}>
      <MemoryRouter initialEntries={[path]}>{element}</MemoryRouter>
    </QueryClientProvider>,
  );
}

function renderAs(state: AuthState, path: string, element: ReactNode): string {
  return render(path, <AuthContext value={authFromState(state)}>{element}</AuthContext>);
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

  it("renders the login form with its hooks", () => {
    const html = render("/login?next=%2Ffetch", <App auth={{ status: "anonymous" }} />);
    for (const id of ["login-form", "login-username", "login-password", "login-submit"]) expect(html).toContain(`data-testid="${id}"`);
    expect(html).not.toContain('data-testid="nav-user"');
    expect(html).not.toContain('data-testid="logout"');
  });
});

describe("role-aware shell", () => {
  it("shows a viewer no Fetch and no Admin link", () => {
    const html = render("/", <App auth={signedIn("viewer")} />);
    expect(html).toMatch(/data-testid="nav-user"[^>]*data-role="viewer"/);
    expect(html).toContain("the-viewer");
    expect(html).toContain('data-testid="logout"');
    expect(html).not.toContain('data-testid="nav-fetch"');
    expect(html).not.toContain('data-testid="nav-admin"');
    expect(html).not.toContain('href="/fetch"');
  });

  it("shows an analyst Fetch but not Admin", () => {
    const html = render("/", <App auth={signedIn("analyst")} />);
    expect(html).toContain('data-testid="nav-fetch"');
    expect(html).not.toContain('data-testid="nav-admin"');
  });

  it("shows an admin both", () => {
    const html = render("/", <App auth={signedIn("admin")} />);
    expect(html).toContain('data-testid="nav-fetch"');
    expect(html).toContain('data-testid="nav-admin"');
  });

  it("keeps a viewer off the fetch page and a non-admin off /admin", () => {
    expect(render("/fetch", <App auth={signedIn("viewer")} />)).toContain('data-testid="forbidden"');
    expect(render("/fetch", <App auth={signedIn("viewer")} />)).not.toContain('data-testid="fetch-form"');
    expect(render("/admin", <App auth={signedIn("analyst")} />)).toContain('data-testid="forbidden"');
  });

  it("hides the analysis page's Fetch link from a viewer", () => {
    expect(renderAs(signedIn("viewer"), "/analysis?table=x", <Analysis />)).not.toContain("+ Fetch");
    expect(renderAs(signedIn("analyst"), "/analysis?table=x", <Analysis />)).toContain("+ Fetch");
  });

  it("shows a session check, not the page, while the session is unknown", () => {
    const html = render("/analysis", <App auth={{ status: "loading" }} />);
    expect(html).toContain('data-testid="auth-loading"');
    expect(html).not.toContain('data-testid="chart"');
  });
});
