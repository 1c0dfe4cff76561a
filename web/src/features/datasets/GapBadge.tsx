/** The chart head's note on the gaps it shades (amber bands: bars the calendar expected but the store lacks). */
import type { GapBandsState } from "../../chart/useGapBands";
import { formatCompact } from "../../chart/time";
import { formatCoverage } from "./quality";

export function GapBadge({ state }: { state: GapBandsState }) {
  const report = state.report;
  if (report === null) return null;
  const q = report.quality;
  if (q.gaps === 0) {
    return (
      <span className="badge badge-gaps-none" data-testid="gap-badge" data-gaps="0" title="Every bar the exchange calendar expects is stored">
        no gaps
      </span>
    );
  }
  const title = `Shaded: ${formatCompact(q.missing)} missing of ${formatCompact(q.expected)} expected bars (coverage ${formatCoverage(q.coverage)})${
    report.truncated ? `; the first ${formatCompact(report.gaps.length)} gaps are drawn` : ""
  }`;
  return (
    <span className="badge badge-gaps" data-testid="gap-badge" data-gaps={q.gaps} title={title}>
      {formatCompact(q.gaps)} gap{q.gaps === 1 ? "" : "s"}
      {report.truncated ? "+" : ""}
    </span>
  );
}
