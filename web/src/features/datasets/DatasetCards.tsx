/** The landing page's dataset cards, each a link into Analysis. */
import { Link } from "react-router-dom";

import type { Dataset } from "../../api/types";
import { formatCompact } from "../../chart/time";
import { analysisHref } from "../../state/url";
import { nativeTimeframe } from "../../state/timeframe";
import { SourceBadge } from "../../ui/SourceBadge";
import { timespanLabel } from "./model";
import { qualityLine, qualityTone } from "./quality";

export function DatasetCards({ datasets }: { datasets: readonly Dataset[] }) {
  return (
    <div className="cards">
      {datasets.map((d) => (
        <Link key={d.table} to={analysisHref(d.table, nativeTimeframe(d))} className="card" data-testid="dataset-card" data-table={d.table}>
          <div className="card-head">
            <span className="symbol">{d.symbol}</span>
            <SourceBadge source={d.source} />
          </div>
          <div className="card-body">
            <div>
              {timespanLabel(d)}
              {d.adjusted ? " · adjusted" : ""}
            </div>
            <div className="muted">
              {d.date_range.from} → {d.date_range.to}
            </div>
            <div className="muted">{formatCompact(d.total_records)} bars</div>
            <div className={`quality-line quality-${qualityTone(d.quality)}`}>{qualityLine(d.quality)}</div>
          </div>
        </Link>
      ))}
    </div>
  );
}
