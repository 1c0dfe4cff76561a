/** Returns `value`, or throws when it is `null` or `undefined` (instead of the `!` operator). */
export function ensureNotNull<T>(value: T | null | undefined, what = "value"): T {
  if (value === null || value === undefined) {
    throw new Error(`Expected ${what} to be present`);
  }
  return value;
}

/** Whether `value` is a non-array object, for narrowing parsed JSON. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
