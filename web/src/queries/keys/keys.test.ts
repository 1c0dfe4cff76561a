// The query-key factories: each area's keys nest under its `all`, so one prefix invalidates exactly what it names.
import { QueryClient } from "@tanstack/react-query";
import { describe, expect, it } from "vitest";

import { accountKeys } from "./account";
import { adminKeys } from "./admin";
import { datasetKeys } from "./datasets";
import { healthKeys } from "./health";
import { jobKeys } from "./jobs";
import { projectionKeys } from "./projections";
import { screenKeys, strategyKeys } from "./strategies";

/** The keys of the cached queries a filter matches, as TanStack Query matches them. */
function matching(client: QueryClient, queryKey: readonly unknown[], exact = false): unknown[] {
  return client
    .getQueryCache()
    .findAll({ queryKey, exact })
    .map((q) => q.queryKey);
}

function seeded(keys: readonly (readonly unknown[])[]): QueryClient {
  const client = new QueryClient();
  for (const key of keys) client.setQueryData(key, "seed");
  return client;
}

describe("query keys", () => {
  it("are plain arrays, equal for equal arguments", () => {
    expect(datasetKeys.list()).toEqual(["datasets", "list"]);
    expect(datasetKeys.qualityReport("aapl_1day", { limit: 20 })).toEqual(["datasets", "quality", "aapl_1day", { limit: 20 }]);
    expect(jobKeys.status("j1")).toEqual(["jobs", "status", "j1"]);
    expect(jobKeys.status(null)).toEqual(["jobs", "status", null]);
    expect(healthKeys.readiness()).toEqual(["health", "readiness"]);
    expect(accountKeys.apiKeys("ann")).toEqual(["account", "ann", "api-keys"]);
    expect(adminKeys.audit({ actor: "ann" })).toEqual(["admin", "audit", { actor: "ann" }]);
    expect(adminKeys.audit({ actor: "ann", limit: 5 })).toEqual(adminKeys.audit({ limit: 5, actor: "ann" }));
  });

  it("nest each area under its own prefix, and no area under another's", () => {
    const all = [datasetKeys.all, jobKeys.all, healthKeys.all, accountKeys.all, adminKeys.all, strategyKeys.all, screenKeys.all, projectionKeys.all].map((k) => k[0]);
    expect(new Set(all).size).toBe(all.length);
    const client = seeded([
      datasetKeys.list(),
      datasetKeys.qualityReport("a", { limit: 1 }),
      jobKeys.status("j1"),
      healthKeys.readiness(),
      accountKeys.apiKeys("ann"),
      adminKeys.users(),
      adminKeys.apiKeys(),
      adminKeys.audit({}),
    ]);
    expect(matching(client, datasetKeys.all)).toEqual([datasetKeys.list(), datasetKeys.qualityReport("a", { limit: 1 })]);
    expect(matching(client, jobKeys.all)).toEqual([jobKeys.status("j1")]);
    expect(matching(client, adminKeys.all)).toEqual([adminKeys.users(), adminKeys.apiKeys(), adminKeys.audit({})]);
    expect(matching(client, healthKeys.all)).toEqual([healthKeys.readiness()]);
    expect(matching(client, accountKeys.all)).toEqual([accountKeys.apiKeys("ann")]);
  });

  it("let one dataset's quality reports be named apart from the others' and from the list", () => {
    const client = seeded([
      datasetKeys.list(),
      datasetKeys.qualityReport("a", { limit: 1 }),
      datasetKeys.qualityReport("a", { fromMs: 0, toMs: 10 }),
      datasetKeys.qualityReport("ab", { limit: 1 }),
      datasetKeys.qualityReport("b", { limit: 1 }),
    ]);
    expect(matching(client, datasetKeys.quality("a"))).toEqual([
      datasetKeys.qualityReport("a", { limit: 1 }),
      datasetKeys.qualityReport("a", { fromMs: 0, toMs: 10 }),
    ]);
    expect(matching(client, datasetKeys.list(), true)).toEqual([datasetKeys.list()]);
  });

  it("let every audit query be named at once, whatever its filters", () => {
    const client = seeded([adminKeys.audit({}), adminKeys.audit({ actor: "ann" }), adminKeys.users()]);
    expect(matching(client, adminKeys.audits())).toEqual([adminKeys.audit({}), adminKeys.audit({ actor: "ann" })]);
  });

  it("keep a series' projections apart from another series' and from its leaderboard", () => {
    const client = seeded([projectionKeys.list("DEMO", "1d"), projectionKeys.list("DEMO", "1h"), projectionKeys.leaderboard("DEMO", "1d"), projectionKeys.evaluation("e1")]);
    expect(matching(client, projectionKeys.list("DEMO", "1d"))).toEqual([projectionKeys.list("DEMO", "1d")]);
    expect(matching(client, [...projectionKeys.all, "list"])).toEqual([projectionKeys.list("DEMO", "1d"), projectionKeys.list("DEMO", "1h")]);
    expect(matching(client, projectionKeys.all)).toHaveLength(4);
  });

  it("keep a run's equity curves and pages of trades under the run, apart from other runs", () => {
    const client = seeded([strategyKeys.run("r1"), strategyKeys.equity("r1", 100), strategyKeys.trades("r1", 500, 500), strategyKeys.run("r2"), strategyKeys.trades("r2", 0, 500), strategyKeys.list(), strategyKeys.runsOf(1)]);
    expect(matching(client, strategyKeys.run("r1"))).toEqual([strategyKeys.run("r1"), strategyKeys.equity("r1", 100), strategyKeys.trades("r1", 500, 500)]);
    expect(matching(client, strategyKeys.list(), true)).toEqual([strategyKeys.list()]);
  });
});
