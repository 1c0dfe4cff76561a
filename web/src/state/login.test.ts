import { describe, expect, it } from "vitest";

import { DEFAULT_NEXT, loginHref, safeNext } from "./login";

describe("next after login", () => {
  it("keeps same-app paths with their query", () => {
    expect(safeNext("/fetch?job=1")).toBe("/fetch?job=1");
    expect(safeNext("/")).toBe("/");
  });

  it("refuses other sites, schemes, the login page itself and nothing", () => {
    for (const bad of [null, "", "https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)", "/login", "/login?next=/x", "/a\nb"]) {
      expect(safeNext(bad)).toBe(DEFAULT_NEXT);
    }
  });

  it("builds the login link", () => {
    expect(loginHref("/analysis?table=a&tf=1d")).toBe("/login?next=%2Fanalysis%3Ftable%3Da%26tf%3D1d");
    expect(loginHref(null)).toBe("/login");
    expect(loginHref("/login")).toBe("/login");
  });
});
