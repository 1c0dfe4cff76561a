/** The chart header's live indicator: shown once live bars of the charted symbol arrive. */
import { formatInstantEt } from "./time";
import type { LiveBars } from "./useLiveBars";

export function LiveBadge({ live }: { live: LiveBars }) {
  const last = live.last;
  if (last === null) return null;
  const synthetic = last.source === "synthetic";
  const stale = live.status !== "live";
  const title = `${synthetic ? "Synthetic live feed (generated, not market data)" : `Live from ${last.source}`}; last bar ${formatInstantEt(last.ts)}${
    stale ? " — reconnecting" : ""
  }`;
  return (
    <span
      className={stale ? "badge badge-live badge-live-stale" : "badge badge-live"}
      data-testid="live-badge"
      data-status={live.status}
      data-updates={live.received}
      data-last-ts={last.ts}
      title={title}
    >
      <span className="live-dot" aria-hidden="true" />
      {synthetic ? "live · synthetic" : "live"}
    </span>
  );
}
