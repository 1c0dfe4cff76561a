/**
 * Indicator colours (pure): each indicator's own colour, or the palette's at its place, and the
 * faint version of a colour that draws values before they are stable.
 */

/**
 * Distinct line colours on the dark theme; none near the candles' up and down colours or the amber
 * of gap bands.
 */
export const INDICATOR_COLORS = ["#4f9cf9", "#c084fc", "#f97316", "#22d3ee", "#e879f9", "#a3e635", "#fb7185", "#e5e7eb", "#fde047", "#818cf8"] as const;

function paletteAt(index: number): string {
  const n = INDICATOR_COLORS.length;
  return INDICATOR_COLORS[((index % n) + n) % n] ?? INDICATOR_COLORS[0];
}

/**
 * The colours of each indicator's outputs, in order. Without a colour of its own an indicator takes
 * the palette from its slot on (slots run over every output of the indicators before it, so no two
 * outputs share a colour until the palette wraps); with one, its first output takes it and the
 * others follow it in the palette.
 *
 * @example indicatorColors([{ color: null }, { color: null }], [3, 1]) // [[c0, c1, c2], [c3]]
 */
export function indicatorColors(indicators: readonly { color: string | null }[], outputCounts: readonly number[]): string[][] {
  let slot = 0;
  return indicators.map((indicator, i) => {
    const outputs = Math.max(1, outputCounts[i] ?? 1);
    const own = indicator.color;
    const from = own !== null ? INDICATOR_COLORS.indexOf(own as (typeof INDICATOR_COLORS)[number]) : -1;
    const start = from >= 0 ? from : slot;
    const colors = Array.from({ length: outputs }, (_, k) => (k === 0 && own !== null ? own : paletteAt(start + k)));
    slot += outputs;
    return colors;
  });
}

/** `#rrggbb` at a third of its opacity (values before they are stable); other colours as they are. */
export function dimColor(color: string): string {
  const match = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(color);
  if (match === null) return color;
  const [r, g, b] = [match[1], match[2], match[3]].map((h) => parseInt(h ?? "0", 16));
  return `rgba(${r}, ${g}, ${b}, 0.35)`;
}
