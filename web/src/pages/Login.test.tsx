// @vitest-environment jsdom
// Signing in against a stubbed API: the one-time link, wrong passwords, throttling, and the guard.
import { act, StrictMode } from "react";
import { createRoot, type Root } from "react-dom/client";
import { MemoryRouter, useLocation } from "react-router-dom";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { resetSessionStateForTests } from "../api/http";
import type { Session } from "../api/types";
import { App } from "../App";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

let root: Root | null = null;
const SESSION: Session = { user: { username: "root", role: "admin" }, csrf_token: "c", access_expires_at: "2030-01-01T00:00:00Z" };

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
const wait = (ms = 10) => act(async () => new Promise((r) => setTimeout(r, ms)));

function Where() {
  const location = useLocation();
  return <output data-testid="where">{location.pathname + location.search}</output>;
}

async function mount(path: string): Promise<HTMLElement> {
  const el = document.createElement("div");
  document.body.append(el);
  root = createRoot(el);
  await act(async () =>
    root?.render(
      <StrictMode>
        <MemoryRouter initialEntries={[path]}>
          <App />
          <Where />
        </MemoryRouter>
      </StrictMode>,
    ),
  );
  return el;
}

const where = (el: HTMLElement): string => el.querySelector('[data-testid="where"]')?.textContent ?? "";

/** Waits (up to 3 s: lazy pages load in a transition) until the location is `path`. */
async function until(el: HTMLElement, path: string): Promise<string> {
  for (let i = 0; i < 150 && where(el) !== path; i++) await wait(20);
  return where(el);
}
const byTestId = (el: HTMLElement, id: string): HTMLElement | null => el.querySelector(`[data-testid="${id}"]`);

function setInput(input: HTMLInputElement | null, value: string): void {
  if (input === null) throw new Error("no input");
  // Through the prototype's setter, as typing does: React tracks the value the element's own setter last set.
  Reflect.set(HTMLInputElement.prototype, "value", value, input);
  input.dispatchEvent(new Event("input", { bubbles: true }));
}

async function signIn(el: HTMLElement, username: string, password: string): Promise<void> {
  await act(async () => {
    setInput(byTestId(el, "login-username") as HTMLInputElement | null, username);
    setInput(byTestId(el, "login-password") as HTMLInputElement | null, password);
  });
  await act(async () => {
    byTestId(el, "login-form")?.dispatchEvent(new Event("submit", { bubbles: true, cancelable: true }));
  });
  await wait();
}

beforeEach(() => {
  resetSessionStateForTests();
  document.cookie = "k2q_csrf=; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/";
});

afterEach(async () => {
  await act(async () => root?.unmount());
  root = null;
  document.body.innerHTML = "";
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

describe("login", () => {
  it("sends an anonymous visitor to the login page, remembering where they were", async () => {
    const fetch = vi.fn(async () => json({ status: 401, title: "Not signed in" }, 401));
    vi.stubGlobal("fetch", fetch);
    const el = await mount("/analysis?table=t&tf=1d");
    await wait();
    expect(where(el)).toBe("/login?next=%2Fanalysis%3Ftable%3Dt%26tf%3D1d");
    expect(byTestId(el, "login-form")).not.toBeNull();
    // No session cookie: nobody asked the server who this is.
    expect(fetch).not.toHaveBeenCalled();
  });

  it("posts a one-time token exactly once, drops it from the URL and goes to next", async () => {
    const fetch = vi.fn(async (url: string) => (url === "/api/v1/auth/token-login" ? json(SESSION) : json([])));
    vi.stubGlobal("fetch", fetch);
    const el = await mount("/login?token=tok-1&next=%2Fadmin");
    expect(await until(el, "/admin")).toBe("/admin");
    const logins = fetch.mock.calls.filter(([url]) => url === "/api/v1/auth/token-login");
    expect(logins).toHaveLength(1);
    expect(JSON.parse((logins[0] as unknown as [string, RequestInit])[1].body as string)).toEqual({ token: "tok-1" });
    expect(byTestId(el, "nav-user")?.dataset.role).toBe("admin");
    expect(byTestId(el, "nav-admin")).not.toBeNull();
  });

  it("explains a used link and offers the form", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => json({ status: 401, title: "Invalid token" }, 401)));
    const el = await mount("/login?token=used");
    await wait(30);
    expect(where(el)).toBe("/login");
    expect(byTestId(el, "login-error")?.textContent).toContain("invalid, expired or already used");
    expect(byTestId(el, "login-form")).not.toBeNull();
  });

  it("says so on a wrong password", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => json({ status: 401, title: "Invalid credentials" }, 401)));
    const el = await mount("/login");
    await signIn(el, "ann", "nope");
    expect(byTestId(el, "login-error")?.textContent).toBe("Wrong username or password.");
    expect(where(el)).toBe("/login");
  });

  it("counts a throttle's Retry-After down and blocks the button meanwhile", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => json({ status: 429, title: "Too many requests" }, 429, { "Retry-After": "3" })));
    const el = await mount("/login");
    await signIn(el, "ann", "pw");
    expect(byTestId(el, "login-error")?.textContent).toBe("Too many attempts, try again in 3 s.");
    expect((byTestId(el, "login-submit") as HTMLButtonElement).disabled).toBe(true);
    await wait(1100);
    expect(byTestId(el, "login-error")?.textContent).toMatch(/try again in [12] s\./);
  });

  it("signs in with the form and goes to next; logout returns to the login page", async () => {
    const calls: string[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(async (url: string) => {
        calls.push(url);
        if (url === "/api/v1/auth/login") return json({ ...SESSION, user: { username: "vic", role: "viewer" } });
        if (url === "/api/v1/auth/logout") return new Response(null, { status: 204 });
        if (url === "/api/v1/stocks/tables") return json([]);
        return json({ ok: true });
      }),
    );
    const el = await mount("/login?next=%2F");
    await signIn(el, "vic", "pw");
    expect(where(el)).toBe("/");
    expect(byTestId(el, "nav-user")?.dataset.role).toBe("viewer");
    expect(byTestId(el, "nav-fetch")).toBeNull();
    await act(async () => byTestId(el, "logout")?.click());
    await wait();
    expect(calls).toContain("/api/v1/auth/logout");
    expect(where(el)).toBe("/login");
    expect(byTestId(el, "nav-user")).toBeNull();
  });

  it("goes to the login page when the session is lost mid-use", async () => {
    document.cookie = "k2q_csrf=c1; path=/";
    vi.stubGlobal(
      "fetch",
      vi.fn(async (url: string) => {
        if (url === "/api/v1/auth/me") return json({ username: "ann", role: "analyst", auth: "session" });
        if (url === "/ready") return json({ ok: true, stores: {} });
        return json({ status: 401, title: "Expired" }, 401);
      }),
    );
    const el = await mount("/fetch?job=j1");
    await wait(30);
    expect(where(el)).toBe("/login?next=%2Ffetch%3Fjob%3Dj1");
  });
});
