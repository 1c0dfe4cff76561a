/**
 * Time formatting for the chart. Bars carry UTC instants; clock times are shown in US market
 * time (America/New_York, labelled "ET").
 *
 * Dates of daily and wider bars are read in UTC on purpose: a daily bar is stamped either at
 * midnight New York time (Polygon: 04:00/05:00 UTC) or at midnight UTC (SQL day buckets), and
 * both fall on the bar's own calendar date in UTC, while midnight UTC would read as the previous
 * evening in New York.
 */

export const MARKET_TZ = "America/New_York";
export const MARKET_TZ_LABEL = "ET";

/** Mirror of lightweight-charts' `TickMarkType` values (kept here so this module stays pure). */
export const TICK = { Year: 0, Month: 1, DayOfMonth: 2, Time: 3, TimeWithSeconds: 4 } as const;

interface Parts {
  year: string;
  month: string;
  monthShort: string;
  day: string;
  hour: string;
  minute: string;
  second: string;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let fmt = formatters.get(timeZone);
  if (fmt === undefined) {
    fmt = new Intl.DateTimeFormat("en-US", {
      timeZone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      hourCycle: "h23",
    });
    formatters.set(timeZone, fmt);
  }
  return fmt;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** Calendar and clock fields of an instant in a time zone. */
export function zonedParts(ms: number, timeZone: string): Parts {
  const out: Record<string, string> = {};
  for (const part of formatterFor(timeZone).formatToParts(new Date(ms))) out[part.type] = part.value;
  const month = out.month ?? "01";
  return {
    year: out.year ?? "",
    month,
    monthShort: MONTHS[Number(month) - 1] ?? month,
    day: out.day ?? "",
    hour: out.hour ?? "00",
    minute: out.minute ?? "00",
    second: out.second ?? "00",
  };
}

function partsFor(ms: number, daily: boolean): Parts {
  return zonedParts(ms, daily ? "UTC" : MARKET_TZ);
}

/**
 * The label of one bar: `YYYY-MM-DD` for daily and wider bars, `YYYY-MM-DD HH:mm` (ET) for
 * intraday bars, with seconds for sub-minute bars.
 *
 * @example formatBarTime(1710250200, 60_000) // "2024-03-12 09:30"
 */
export function formatBarTime(timeSec: number, bucketMs: number): string {
  const daily = bucketMs >= 86_400_000;
  const p = partsFor(timeSec * 1000, daily);
  const date = `${p.year}-${p.month}-${p.day}`;
  if (daily) return date;
  const clock = bucketMs < 60_000 ? `${p.hour}:${p.minute}:${p.second}` : `${p.hour}:${p.minute}`;
  return `${date} ${clock}`;
}

/** A time-axis label for a tick mark of the given kind (see `TICK`). */
export function formatTick(timeSec: number, tickType: number, bucketMs: number): string {
  const daily = bucketMs >= 86_400_000;
  const p = partsFor(timeSec * 1000, daily);
  switch (tickType) {
    case TICK.Year:
      return p.year;
    case TICK.Month:
      return p.monthShort;
    case TICK.DayOfMonth:
      return String(Number(p.day));
    case TICK.TimeWithSeconds:
      return `${p.hour}:${p.minute}:${p.second}`;
    default:
      return daily ? `${p.monthShort} ${Number(p.day)}` : `${p.hour}:${p.minute}`;
  }
}

/** Parses an ISO date-time (or date) to epoch ms, or `null`. A zone-less value is read as UTC. */
export function isoToMs(value: string | null | undefined): number | null {
  if (value === null || value === undefined || value === "") return null;
  const hasZone = /([zZ]|[+-]\d\d:?\d\d)$/.test(value);
  const isDateOnly = /^\d{4}-\d{2}-\d{2}$/.test(value);
  const ms = Date.parse(hasZone || isDateOnly ? value : `${value}Z`);
  return Number.isFinite(ms) ? ms : null;
}

/** A compact human number: 1234 → "1,234", 1.2e6 → "1.2M". */
export function formatCompact(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e9) return `${(value / 1e9).toFixed(2)}B`;
  if (abs >= 1e6) return `${(value / 1e6).toFixed(2)}M`;
  if (abs >= 1e4) return `${(value / 1e3).toFixed(1)}K`;
  return value.toLocaleString("en-US", { maximumFractionDigits: 2 });
}

/** A price with a precision that suits its size (sub-penny for small prices). */
export function formatPrice(value: number): string {
  const abs = Math.abs(value);
  const digits = abs >= 1000 ? 2 : abs >= 1 ? 2 : abs >= 0.01 ? 4 : 6;
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** An instant as `YYYY-MM-DD HH:mm ET`. */
export function formatInstantEt(ms: number): string {
  const p = zonedParts(ms, MARKET_TZ);
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute} ${MARKET_TZ_LABEL}`;
}
