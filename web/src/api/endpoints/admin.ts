/** `/api/v1/admin`: users, every user's API keys, and the audit log (admins only). */
import { API_PREFIX, requestJson, requestVoid } from "../http";
import type { ApiKeyInfo, AuditEntry, UserCreate, UserInfo, UserUpdate } from "../types";

export function listUsers(signal?: AbortSignal): Promise<UserInfo[]> {
  return requestJson<UserInfo[]>(`${API_PREFIX}/admin/users`, { signal });
}

export function createUser(request: UserCreate): Promise<UserInfo> {
  return requestJson<UserInfo>(`${API_PREFIX}/admin/users`, { method: "POST", body: request });
}

export function updateUser(username: string, update: UserUpdate): Promise<UserInfo> {
  return requestJson<UserInfo>(`${API_PREFIX}/admin/users/${encodeURIComponent(username)}`, { method: "PATCH", body: update });
}

export function listAllApiKeys(signal?: AbortSignal): Promise<ApiKeyInfo[]> {
  return requestJson<ApiKeyInfo[]>(`${API_PREFIX}/admin/api-keys`, { signal });
}

export function revokeAnyApiKey(prefix: string): Promise<void> {
  return requestVoid(`${API_PREFIX}/admin/api-keys/${encodeURIComponent(prefix)}`, { method: "DELETE" });
}

export interface AuditQuery {
  actor?: string;
  action?: string;
  outcome?: string;
  /** ISO 8601 instants. */
  since?: string;
  until?: string;
  limit?: number;
}

/** The audit log; empty filters are left out of the query. */
export function listAudit(query: AuditQuery, signal?: AbortSignal): Promise<AuditEntry[]> {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null) continue;
    const text = String(value).trim();
    if (text !== "") params.set(key, text);
  }
  const qs = params.toString();
  return requestJson<AuditEntry[]>(`${API_PREFIX}/admin/audit${qs !== "" ? `?${qs}` : ""}`, { signal });
}
