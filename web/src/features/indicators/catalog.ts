/**
 * The indicator catalog as the picker lists it (pure): grouped as TA-Lib groups its functions,
 * then ours, and searched by name and display name.
 */
import type { IndicatorInfo } from "../../api/types";
import { specName } from "../../state/indicators";

/** TA-Lib's groups in the order its documentation lists them, then ours. */
export const GROUP_ORDER: readonly string[] = [
  "Overlap Studies",
  "Momentum Indicators",
  "Volume Indicators",
  "Volatility Indicators",
  "Pattern Recognition",
  "Cycle Indicators",
  "Price Transform",
  "Statistic Functions",
  "Math Transform",
  "Math Operators",
  "K2 Quant",
];

export interface CatalogGroup {
  group: string;
  items: IndicatorInfo[];
}

function groupRank(group: string): number {
  const index = GROUP_ORDER.indexOf(group);
  return index < 0 ? GROUP_ORDER.length : index;
}

/** Items by group: known groups in `GROUP_ORDER`, any other after them by name; items by name within each. */
export function groupCatalog(items: readonly IndicatorInfo[]): CatalogGroup[] {
  const groups = new Map<string, IndicatorInfo[]>();
  for (const item of items) {
    const list = groups.get(item.group);
    if (list !== undefined) list.push(item);
    else groups.set(item.group, [item]);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => groupRank(a) - groupRank(b) || a.localeCompare(b))
    .map(([group, list]) => ({ group, items: [...list].sort((a, b) => a.name.localeCompare(b.name)) }));
}

/**
 * The items whose name or display name contains every word of `text` (any case); a name equal to
 * the text, then names starting with it, come first. Empty text: every item.
 *
 * @example searchCatalog(catalog, "moving avg") // SMA, EMA, … (display names with both words)
 */
export function searchCatalog(items: readonly IndicatorInfo[], text: string): IndicatorInfo[] {
  const query = text.trim().toLowerCase();
  if (query === "") return [...items];
  // A spec typed in full (`rsi(14)`) searches for its name.
  const words = (query.includes("(") ? specName(query) : query).split(/\s+/).filter((w) => w !== "");
  const rank = (item: IndicatorInfo): number => {
    const name = item.name.toLowerCase();
    const first = words[0] ?? "";
    return name === first ? 0 : name.startsWith(first) ? 1 : 2;
  };
  return items
    .filter((item) => {
      const haystack = `${item.name} ${item.display_name}`.toLowerCase();
      return words.every((word) => haystack.includes(word));
    })
    .map((item, index) => ({ item, index, rank: rank(item) }))
    .sort((a, b) => a.rank - b.rank || a.index - b.index)
    .map(({ item }) => item);
}

/** The catalog entry of a spec's function (`bbands(20,2)` → BBANDS), if listed. */
export function infoForSpec(items: readonly IndicatorInfo[], spec: string): IndicatorInfo | null {
  const name = specName(spec).toUpperCase();
  return items.find((item) => item.name.toUpperCase() === name) ?? null;
}
