import { describe, expect, it } from "vitest";

import type { AuditEntry } from "../../api/types";
import { auditQuery, detailText, distinct, EMPTY_FILTERS, lastHours, newestFirst, parseAuditFilters, writeAuditFilters } from "./audit";

const entry = (at: string, action: string, outcome: AuditEntry["outcome"] = "ok", actor: string | null = "root"): AuditEntry => ({
  at, actor, actor_kind: "user", action, target: null, outcome, status: 200, ip: "127.0.0.1", detail: {},
});

describe("audit filters", () => {
  it("round-trip through the URL, keeping other keys and dropping empty ones", () => {
    const filters = { ...EMPTY_FILTERS, actor: "ann", outcome: "denied", since: "2024-05-01T00:00:00Z", limit: 500 };
    const params = writeAuditFilters(filters, new URLSearchParams("tab=audit&action=old"));
    expect(params.toString()).toBe("tab=audit&actor=ann&outcome=denied&since=2024-05-01T00%3A00%3A00Z&limit=500");
    expect(parseAuditFilters(params)).toEqual(filters);
  });

  it("ignore unreadable times and limits", () => {
    expect(parseAuditFilters(new URLSearchParams("since=yesterday&limit=-3"))).toEqual(EMPTY_FILTERS);
  });

  it("become an API query without empty parts", () => {
    expect(auditQuery({ ...EMPTY_FILTERS, action: "auth.login" })).toEqual({ action: "auth.login" });
    expect(lastHours(1, Date.parse("2024-05-01T12:00:00Z"))).toEqual({ since: "2024-05-01T11:00:00.000Z", until: "" });
  });
});

describe("audit entries", () => {
  it("are shown newest first", () => {
    const entries = [entry("2024-05-01T10:00:00Z", "a"), entry("2024-05-01T12:00:00+00:00", "b"), entry("2024-05-01T11:00:00Z", "c")];
    expect(newestFirst(entries).map((e) => e.action)).toEqual(["b", "c", "a"]);
  });

  it("suggest the values seen", () => {
    const entries = [entry("2024-05-01T10:00:00Z", "login", "denied", null), entry("2024-05-01T10:00:00Z", "logout")];
    expect(distinct(entries, "action")).toEqual(["login", "logout"]);
    expect(distinct(entries, "actor")).toEqual(["root"]);
  });

  it("word their detail", () => {
    expect(detailText({ role: "viewer", n: 2 })).toBe("role=viewer · n=2");
    expect(detailText({})).toBe("");
  });
});
