/** The Analysis page's dataset list: a search box and one row per dataset. */
import { useMemo, useState } from "react";

import type { Dataset } from "../../api/types";
import { formatCompact } from "../../chart/time";
import { filterDatasets, timespanLabel } from "./model";
import { qualityLine, qualityTone } from "./quality";

interface Props {
  datasets: readonly Dataset[];
  selected: string | null;
  onSelect: (dataset: Dataset) => void;
}

export function DatasetList({ datasets, selected, onSelect }: Props) {
  const [query, setQuery] = useState("");
  const shown = useMemo(() => filterDatasets(datasets, query), [datasets, query]);
  return (
    <div className="dataset-list">
      <input
        className="input search"
        type="search"
        placeholder="Filter datasets…"
        value={query}
        onChange={(e) => setQuery(e.target.value)}
        data-testid="dataset-search"
        aria-label="Filter datasets"
      />
      <ul className="list" role="listbox" aria-label="Datasets">
        {shown.map((d) => {
          const active = d.table === selected;
          return (
            <li
              key={d.table}
              role="option"
              aria-selected={active}
              tabIndex={0}
              className={active ? "list-item active" : "list-item"}
              data-testid="dataset-item"
              data-table={d.table}
              data-selected={active ? "true" : "false"}
              onClick={() => onSelect(d)}
              onKeyDown={(e) => {
                if (e.key === "Enter" || e.key === " ") {
                  e.preventDefault();
                  onSelect(d);
                }
              }}
            >
              <div className="list-item-main">
                <span className="symbol">{d.symbol}</span>
                <span className="muted">{timespanLabel(d)}</span>
                {d.source === "synthetic" ? <span className="dot-synthetic" title="Synthetic demo data">SYN</span> : null}
              </div>
              <div className="list-item-sub muted">
                {d.date_range.from} → {d.date_range.to} · {formatCompact(d.total_records)} bars
              </div>
              <div className={`list-item-sub quality-line quality-${qualityTone(d.quality)}`} data-testid="dataset-quality" title="Coverage of the exchange calendar, and problems found">
                {qualityLine(d.quality)}
              </div>
            </li>
          );
        })}
        {shown.length === 0 ? <li className="list-empty muted">{datasets.length === 0 ? "No datasets yet." : "Nothing matches."}</li> : null}
      </ul>
    </div>
  );
}
