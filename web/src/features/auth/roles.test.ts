import { describe, expect, it } from "vitest";

import { isRole, roleAtLeast, rolesUpTo } from "./roles";

describe("roles", () => {
  it("rank viewer < analyst < admin", () => {
    expect(roleAtLeast("admin", "analyst")).toBe(true);
    expect(roleAtLeast("analyst", "analyst")).toBe(true);
    expect(roleAtLeast("viewer", "analyst")).toBe(false);
    expect(roleAtLeast(null, "viewer")).toBe(false);
    expect(rolesUpTo("analyst")).toEqual(["viewer", "analyst"]);
    expect(isRole("root")).toBe(false);
  });
});
