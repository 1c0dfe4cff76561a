/** API key facts for display. */
import type { ApiKeyInfo } from "../../api/types";

export type KeyState = "active" | "revoked" | "expired";

export function keyState(key: ApiKeyInfo, nowMs: number = Date.now()): KeyState {
  if ((key.revoked_at ?? null) !== null) return "revoked";
  const expires = key.expires_at ?? null;
  if (expires !== null && Date.parse(expires) <= nowMs) return "expired";
  return "active";
}

/** Active keys first, then newest first. */
export function sortKeys(keys: readonly ApiKeyInfo[], nowMs: number = Date.now()): ApiKeyInfo[] {
  return [...keys].sort((a, b) => {
    const activeA = keyState(a, nowMs) === "active" ? 0 : 1;
    const activeB = keyState(b, nowMs) === "active" ? 0 : 1;
    if (activeA !== activeB) return activeA - activeB;
    return b.created_at.localeCompare(a.created_at);
  });
}

export const EXPIRY_CHOICES: readonly { label: string; days: number | null }[] = [
  { label: "Never", days: null },
  { label: "7 days", days: 7 },
  { label: "30 days", days: 30 },
  { label: "90 days", days: 90 },
  { label: "1 year", days: 365 },
];

/** `days` from now as an ISO instant; `null` stays `null` (no expiry). */
export function expiryFromDays(days: number | null, nowMs: number = Date.now()): string | null {
  return days === null ? null : new Date(nowMs + days * 86_400_000).toISOString();
}
