// The fetch wrapper's session handling against a fake fetch: CSRF header, one shared refresh, retry, lost session.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { csrfToken, readCookie } from "./cookies";
import { listAudit } from "./endpoints/admin";
import { getMe, login, logout } from "./endpoints/auth";
import { listDatasets, startFetch } from "./endpoints/stocks";
import { onSession, requestJson, resetSessionStateForTests, setSessionLostHandler } from "./http";
import { ApiError } from "./problem";
import type { FetchRequest, Session } from "./types";

interface Call {
  url: string;
  method: string;
  headers: Record<string, string>;
  credentials: RequestCredentials | undefined;
}

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
const problem = (status: number, title: string, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify({ status, title, detail: title }), { status, headers: { "Content-Type": "application/problem+json", ...headers } });
const SESSION: Session = { user: { username: "ann", role: "analyst" }, csrf_token: "csrf-2", access_expires_at: "2030-01-01T00:00:00Z" };
const REQUEST = { symbols: ["AAPL"] } as unknown as FetchRequest;

/** A fake `fetch` recording calls; `route` answers each. A fake `document.cookie` holds the CSRF cookie. */
function fakeServer(route: (call: Call, n: number) => Response | Promise<Response>) {
  const calls: Call[] = [];
  const fetch = vi.fn(async (url: string, init: RequestInit = {}) => {
    const headers = { ...(init.headers as Record<string, string>) };
    const call: Call = { url, method: init.method ?? "GET", headers, credentials: init.credentials };
    calls.push(call);
    return route(call, calls.length);
  });
  vi.stubGlobal("fetch", fetch);
  return calls;
}

const cookieJar = { cookie: "" };

beforeEach(() => {
  resetSessionStateForTests();
  cookieJar.cookie = "theme=dark; k2q_csrf=csrf-1";
  vi.stubGlobal("document", cookieJar);
});

afterEach(() => {
  vi.unstubAllGlobals();
  resetSessionStateForTests();
});

describe("cookies", () => {
  it("reads one cookie among several, decoded", () => {
    expect(readCookie("k2q_csrf", "a=1; k2q_csrf=abc%3D; b=2")).toBe("abc=");
    expect(readCookie("k2q_csrf", "a=1")).toBeNull();
    expect(readCookie("k2q_csrf", "")).toBeNull();
    expect(readCookie("csrf", "k2q_csrf=x")).toBeNull();
  });

  it("takes the CSRF token from document.cookie each time", () => {
    expect(csrfToken()).toBe("csrf-1");
    cookieJar.cookie = "k2q_csrf=csrf-9";
    expect(csrfToken()).toBe("csrf-9");
  });
});

describe("CSRF header", () => {
  it("goes with unsafe methods only, with same-origin credentials", async () => {
    const calls = fakeServer((call) => (call.method === "GET" ? json([]) : json({ job_id: "j", status_url: "/x" }, 202)));
    await listDatasets();
    await startFetch(REQUEST);
    await requestJson("/api/v1/x", { method: "PATCH", body: {} });
    await requestJson("/api/v1/x", { method: "DELETE" });
    expect(calls.map((c) => [c.method, c.headers["X-CSRF-Token"] ?? null, c.credentials])).toEqual([
      ["GET", null, "same-origin"],
      ["POST", "csrf-1", "same-origin"],
      ["PATCH", "csrf-1", "same-origin"],
      ["DELETE", "csrf-1", "same-origin"],
    ]);
  });

  it("is left out when there is no CSRF cookie", async () => {
    cookieJar.cookie = "";
    const calls = fakeServer(() => json({ job_id: "j", status_url: "/x" }, 202));
    await startFetch(REQUEST);
    expect(calls[0]?.headers["X-CSRF-Token"]).toBeUndefined();
  });
});

describe("refresh on 401", () => {
  it("refreshes once, then sends the request again with the new CSRF token", async () => {
    let refreshed = false;
    const calls = fakeServer((call) => {
      if (call.url === "/api/v1/auth/refresh") {
        refreshed = true;
        cookieJar.cookie = "k2q_csrf=csrf-2";
        return json(SESSION);
      }
      return refreshed ? json({ job_id: "j", status_url: "/x" }, 202) : problem(401, "Not signed in");
    });
    const lost = vi.fn();
    setSessionLostHandler(lost);
    await expect(startFetch(REQUEST)).resolves.toEqual({ job_id: "j", status_url: "/x" });
    expect(calls.map((c) => [c.url, c.headers["X-CSRF-Token"] ?? null])).toEqual([
      ["/api/v1/stocks/fetch", "csrf-1"],
      ["/api/v1/auth/refresh", "csrf-1"],
      ["/api/v1/stocks/fetch", "csrf-2"],
    ]);
    expect(lost).not.toHaveBeenCalled();
  });

  it("shares one refresh among concurrent 401s", async () => {
    let refreshes = 0;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    let valid = false;
    const calls = fakeServer(async (call) => {
      if (call.url === "/api/v1/auth/refresh") {
        refreshes += 1;
        await gate;
        valid = true;
        return json(SESSION);
      }
      return valid ? json([]) : problem(401, "Expired");
    });
    const pending = Promise.all([listDatasets(), listDatasets(), listDatasets()]);
    await new Promise((r) => setTimeout(r, 5));
    release();
    await expect(pending).resolves.toEqual([[], [], []]);
    expect(refreshes).toBe(1);
    expect(calls.filter((c) => c.url === "/api/v1/stocks/tables")).toHaveLength(6);
  });

  it("does not refresh again for a 401 to a request sent before the last refresh", async () => {
    let refreshes = 0;
    let releaseSlow: () => void = () => undefined;
    const slowGate = new Promise<void>((r) => (releaseSlow = r));
    let valid = false;
    let tablesCalls = 0;
    fakeServer(async (call) => {
      if (call.url === "/api/v1/auth/refresh") {
        refreshes += 1;
        valid = true;
        return json(SESSION);
      }
      if (call.url === "/api/v1/stocks/tables") {
        tablesCalls += 1;
        if (tablesCalls === 1) {
          // Sent with the old token; its 401 arrives only after the other request has refreshed.
          await slowGate;
          return problem(401, "Expired");
        }
        return json([]);
      }
      return valid ? json({ job_id: "j", status_url: "/x" }, 202) : problem(401, "Expired");
    });
    const slow = listDatasets();
    await startFetch(REQUEST);
    releaseSlow();
    await expect(slow).resolves.toEqual([]);
    expect(refreshes).toBe(1);
  });

  it("does not refresh when another tab renewed the session meanwhile (the CSRF cookie changed)", async () => {
    let tablesCalls = 0;
    const calls = fakeServer((call) => {
      if (call.url !== "/api/v1/stocks/tables") return json(SESSION);
      tablesCalls += 1;
      if (tablesCalls === 1) {
        cookieJar.cookie = "k2q_csrf=from-other-tab";
        return problem(401, "Expired");
      }
      return json([]);
    });
    await expect(listDatasets()).resolves.toEqual([]);
    expect(calls.map((c) => c.url)).toEqual(["/api/v1/stocks/tables", "/api/v1/stocks/tables"]);
  });

  it("reports a lost session once the refresh is refused, and rejects with the 401", async () => {
    const calls = fakeServer((call) => (call.url === "/api/v1/auth/refresh" ? problem(401, "No session") : problem(401, "Expired")));
    const lost = vi.fn();
    setSessionLostHandler(lost);
    const error = await listDatasets().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(401);
    expect(lost).toHaveBeenCalledTimes(1);
    expect(calls.map((c) => c.url)).toEqual(["/api/v1/stocks/tables", "/api/v1/auth/refresh"]);
  });

  it("reports a lost session when the retried request is still refused", async () => {
    fakeServer((call) => (call.url === "/api/v1/auth/refresh" ? json(SESSION) : problem(401, "Expired")));
    const lost = vi.fn();
    setSessionLostHandler(lost);
    await expect(listDatasets()).rejects.toMatchObject({ status: 401 });
    expect(lost).toHaveBeenCalledTimes(1);
  });

  it("treats a failed refresh request as a network error, not a lost session", async () => {
    fakeServer((call) => {
      if (call.url === "/api/v1/auth/refresh") throw new TypeError("Failed to fetch");
      return problem(401, "Expired");
    });
    const lost = vi.fn();
    setSessionLostHandler(lost);
    await expect(listDatasets()).rejects.toMatchObject({ status: 0 });
    expect(lost).not.toHaveBeenCalled();
  });

  it("leaves other errors alone", async () => {
    const calls = fakeServer(() => problem(403, "Forbidden"));
    const lost = vi.fn();
    setSessionLostHandler(lost);
    await expect(startFetch(REQUEST)).rejects.toMatchObject({ status: 403, title: "Forbidden" });
    expect(calls).toHaveLength(1);
    expect(lost).not.toHaveBeenCalled();
  });

  it("asks /auth/me quietly: anonymous is an answer, not a lost session", async () => {
    const calls = fakeServer(() => problem(401, "Not signed in"));
    const lost = vi.fn();
    setSessionLostHandler(lost);
    await expect(getMe()).rejects.toMatchObject({ status: 401 });
    expect(calls.map((c) => c.url)).toEqual(["/api/v1/auth/me", "/api/v1/auth/refresh"]);
    expect(lost).not.toHaveBeenCalled();
  });
});

describe("auth endpoints", () => {
  it("never refresh on a failed login, and carry Retry-After", async () => {
    const calls = fakeServer(() => problem(429, "Too many attempts", { "Retry-After": "42" }));
    const lost = vi.fn();
    setSessionLostHandler(lost);
    const error = await login({ username: "a", password: "b" }).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 429, retryAfterS: 42 });
    expect(calls).toHaveLength(1);
    expect(lost).not.toHaveBeenCalled();
  });

  it("announce a new session", async () => {
    fakeServer(() => json(SESSION));
    const seen: string[] = [];
    onSession((s) => seen.push(s.user.username));
    await login({ username: "ann", password: "pw" });
    expect(seen).toEqual(["ann"]);
  });

  it("logout tolerates a session already gone", async () => {
    const calls = fakeServer(() => problem(401, "Not signed in"));
    const lost = vi.fn();
    setSessionLostHandler(lost);
    await expect(logout()).resolves.toBeUndefined();
    expect(calls.map((c) => [c.url, c.method, c.headers["X-CSRF-Token"]])).toEqual([
      ["/api/v1/auth/logout", "POST", "csrf-1"],
      ["/api/v1/auth/refresh", "POST", "csrf-1"],
    ]);
    expect(lost).not.toHaveBeenCalled();
  });

  it("logout with an expired access token refreshes first, so the server clears the cookies", async () => {
    let refreshed = false;
    const calls = fakeServer((call) => {
      if (call.url === "/api/v1/auth/refresh") {
        refreshed = true;
        return json(SESSION);
      }
      return refreshed ? new Response(null, { status: 204 }) : problem(401, "Expired");
    });
    await logout();
    expect(calls.map((c) => c.url)).toEqual(["/api/v1/auth/logout", "/api/v1/auth/refresh", "/api/v1/auth/logout"]);
  });
});

describe("audit query", () => {
  it("leaves empty filters out", async () => {
    const calls = fakeServer(() => json([]));
    await listAudit({ actor: "ann", action: "", outcome: " ", since: "2024-01-01T00:00:00Z", limit: 100 });
    expect(calls[0]?.url).toBe("/api/v1/admin/audit?actor=ann&since=2024-01-01T00%3A00%3A00Z&limit=100");
  });
});
