/** Instants from the API (ISO 8601) in one readable form: `2024-05-01 13:04:05 UTC`. */

export function formatInstant(value: string | null | undefined): string {
  if (value === null || value === undefined || value === "") return "—";
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) return value;
  return `${new Date(ms).toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/**
 * A `<input type="datetime-local">` value read as UTC → ISO 8601 (`…Z`); empty or unreadable → `null`.
 *
 * @example utcInputToIso("2024-05-01T13:04") // "2024-05-01T13:04:00Z"
 */
export function utcInputToIso(value: string): string | null {
  const text = value.trim();
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(text)) return null;
  const iso = `${text.length === 16 ? `${text}:00` : text}Z`;
  return Number.isNaN(Date.parse(iso)) ? null : iso;
}

/** An ISO instant → the UTC `datetime-local` value (minutes); unreadable → "". */
export function isoToUtcInput(value: string | null): string {
  if (value === null) return "";
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? "" : new Date(ms).toISOString().slice(0, 16);
}
