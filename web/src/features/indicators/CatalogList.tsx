/**
 * The indicator catalog as a pickable list: grouped (TA-Lib's groups, then ours) while nothing is
 * searched, best matches first while something is. Indicators a chart cannot draw are listed
 * disabled, with why.
 */
import type { IndicatorInfo } from "../../api/types";
import { groupCatalog, searchCatalog } from "./catalog";

interface Props {
  catalog: readonly IndicatorInfo[];
  search: string;
  onPick: (info: IndicatorInfo) => void;
}

function CatalogItem({ info, onPick, group }: { info: IndicatorInfo; onPick: (info: IndicatorInfo) => void; group?: string }) {
  const chartable = info.chartable;
  return (
    <li>
      <button
        type="button"
        className="catalog-item"
        disabled={!chartable}
        title={chartable ? info.example : (info.note ?? "Cannot be drawn on a chart")}
        data-testid="catalog-item"
        data-name={info.name}
        onClick={() => onPick(info)}
      >
        <b>{info.name}</b>
        <span className="catalog-item-name">{info.display_name}</span>
        {group !== undefined ? <span className="catalog-item-group muted">{group}</span> : null}
      </button>
      {!chartable && info.note != null ? <div className="catalog-item-note muted">{info.note}</div> : null}
    </li>
  );
}

export function CatalogList({ catalog, search, onPick }: Props) {
  if (search.trim() !== "") {
    const found = searchCatalog(catalog, search);
    if (found.length === 0) return <div className="catalog muted pad-small">No indicator matches “{search.trim()}”. Enter adds it as typed.</div>;
    return (
      <ul className="catalog" aria-label="Matching indicators" data-testid="indicator-catalog">
        {found.map((info) => (
          <CatalogItem key={info.name} info={info} onPick={onPick} group={info.group} />
        ))}
      </ul>
    );
  }
  return (
    <div className="catalog" data-testid="indicator-catalog">
      {groupCatalog(catalog).map(({ group, items }) => (
        <section key={group} aria-label={group}>
          <div className="catalog-group">{group}</div>
          <ul>
            {items.map((info) => (
              <CatalogItem key={info.name} info={info} onPick={onPick} />
            ))}
          </ul>
        </section>
      ))}
    </div>
  );
}
