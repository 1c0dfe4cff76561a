/** Query keys of the administration (`/admin/*`). */
import type { AuditQuery } from "../../api/endpoints/admin";

export const adminKeys = {
  all: ["admin"] as const,
  users: () => [...adminKeys.all, "users"] as const,
  /** Every user's API keys. */
  apiKeys: () => [...adminKeys.all, "api-keys"] as const,
  /** Every audit log query, whatever its filters. */
  audits: () => [...adminKeys.all, "audit"] as const,
  audit: (query: AuditQuery) => [...adminKeys.audits(), query] as const,
};
