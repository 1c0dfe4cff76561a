/** Small status dots, one per store (ClickHouse, Postgres, Redis), from `/ready`. */
import type { StoreHealth } from "../../api/types";
import { errorMessage } from "../../api/problem";
import { useReadiness } from "./useReadiness";

function describe(name: string, store: StoreHealth): string {
  const parts = [`${name}: ${store.ok ? "ready" : "down"}`, store.mode];
  parts.push(`${store.latency_ms.toFixed(1)} ms`);
  if (typeof store.error === "string") parts.push(store.error);
  return parts.join(" · ");
}

export function StoreStatus() {
  const { readiness, error } = useReadiness();
  if (readiness === null) {
    return (
      <div className="stores" data-testid="store-status" data-ready="unknown">
        <span className={error !== null ? "dot dot-bad" : "dot dot-unknown"} />
        <span className="muted">{error !== null ? `API unreachable: ${errorMessage(error)}` : "Checking stores…"}</span>
      </div>
    );
  }
  return (
    <div className="stores" data-testid="store-status" data-ready={readiness.ok ? "true" : "false"}>
      {Object.entries(readiness.stores ?? {}).map(([name, store]) => (
        <span key={name} className="store" title={describe(name, store)} data-store={name} data-ok={store.ok ? "true" : "false"}>
          <span className={store.ok ? "dot dot-ok" : "dot dot-bad"} />
          {name}
          <span className="muted">{store.mode}</span>
        </span>
      ))}
    </div>
  );
}
