/**
 * Gap bands (pure): where a dataset's gaps — runs of bars the exchange calendar expected but
 * the store lacks — fall on the chart's logical axis.
 *
 * lightweight-charts places bars by index, not by time: a run of missing minutes between two
 * stored bars takes no room at all. So a time maps to a fractional *logical* position: inside
 * bar `k` (which spans `[k - 0.5, k + 0.5]` and `bucketMs` of time) in proportion, and in the
 * void after a bar's end at the boundary `k + 0.5`. A gap between two adjacent bars is then a
 * zero-width band at their boundary, drawn a few pixels wide; a gap inside a wider bucket (an
 * hour bar missing ten minutes) shades that part of the bar.
 *
 * Daily and wider bars are compared by UTC calendar day: they are stamped at New York midnight
 * or at UTC midnight, both on their own date in UTC, as gaps of daily data are.
 */

export const DAY_MS = 86_400_000;

/** A gap in epoch ms: `[startMs, endMs)`. */
export interface GapSpan {
  startMs: number;
  endMs: number;
  missing: number;
}

/** A band on the logical axis (`from <= to`), with the gap it shows. */
export interface Band {
  from: number;
  to: number;
  missing: number;
}

/** Index of the last time `<= t` in ascending `times` (-1 when none). */
export function lastAtOrBefore(times: readonly number[], t: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((times[mid] ?? Infinity) <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

function floorDay(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

/**
 * The logical position of time `t` among bars starting at `times` (ascending), each `bucketMs` wide.
 *
 * @example logicalOf([0, 60_000, 180_000], 120_000, 60_000) // 1.5: the void between bars 1 and 2
 */
export function logicalOf(times: readonly number[], t: number, bucketMs: number): number {
  const k = lastAtOrBefore(times, t);
  if (k < 0) return -0.5;
  const start = times[k] ?? 0;
  if (t < start + bucketMs) return k - 0.5 + (t - start) / bucketMs;
  return k + 0.5;
}

/**
 * Bands for `gaps` over bars at `times` (ascending epoch ms) of width `bucketMs`, ascending.
 * Gaps entirely outside the bars are dropped (they are not in view of the loaded data).
 */
export function gapBands(gaps: readonly GapSpan[], times: readonly number[], bucketMs: number): Band[] {
  if (times.length === 0 || bucketMs <= 0) return [];
  const daily = bucketMs >= DAY_MS;
  const at = daily ? times.map(floorDay) : times;
  const first = at[0] ?? 0;
  const last = (at[at.length - 1] ?? 0) + bucketMs;
  const bands: Band[] = [];
  for (const gap of gaps) {
    const start = daily ? floorDay(gap.startMs) : gap.startMs;
    const end = daily ? floorDay(gap.endMs) : gap.endMs;
    if (end <= first || start >= last) continue;
    const from = logicalOf(at, start, bucketMs);
    const to = Math.max(from, logicalOf(at, end, bucketMs));
    bands.push({ from, to, missing: gap.missing });
  }
  return bands;
}

/** Index of the first band whose `to` reaches `logical` (bands ascending; `bands.length` when none). */
export function firstBandFrom(bands: readonly Band[], logical: number): number {
  let lo = 0;
  let hi = bands.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((bands[mid]?.to ?? Infinity) < logical) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Pixel rectangles `[x1, x2)` for the bands in view, at least `minPx` wide (centred on the
 * band) and merged where they touch, so thousands of tiny gaps cost a few rectangles.
 *
 * @param toX - logical position → x pixel (the chart's `logicalToCoordinate`); `null` when unknown.
 */
export function bandRects(
  bands: readonly Band[],
  visible: { from: number; to: number },
  toX: (logical: number) => number | null,
  minPx: number,
): [number, number][] {
  const rects: [number, number][] = [];
  for (let i = firstBandFrom(bands, visible.from - 1); i < bands.length; i += 1) {
    const band = bands[i];
    if (band === undefined || band.from > visible.to + 1) break;
    const a = toX(band.from);
    const b = toX(band.to);
    if (a === null || b === null) continue;
    let x1 = Math.min(a, b);
    let x2 = Math.max(a, b);
    if (x2 - x1 < minPx) {
      const mid = (x1 + x2) / 2;
      x1 = mid - minPx / 2;
      x2 = mid + minPx / 2;
    }
    const prev = rects[rects.length - 1];
    if (prev !== undefined && x1 <= prev[1] + 1) prev[1] = Math.max(prev[1], x2);
    else rects.push([x1, x2]);
  }
  return rects;
}
