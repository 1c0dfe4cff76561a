/** `/api/v1/auth/api-keys`: the signed-in user's own API keys. */
import { AUTH_PREFIX, requestJson, requestVoid } from "../http";
import type { ApiKeyCreate, ApiKeyCreated, ApiKeyInfo } from "../types";

export function listMyApiKeys(signal?: AbortSignal): Promise<ApiKeyInfo[]> {
  return requestJson<ApiKeyInfo[]>(`${AUTH_PREFIX}/api-keys`, { signal });
}

export function createApiKey(request: ApiKeyCreate): Promise<ApiKeyCreated> {
  return requestJson<ApiKeyCreated>(`${AUTH_PREFIX}/api-keys`, { method: "POST", body: request });
}

export function revokeMyApiKey(prefix: string): Promise<void> {
  return requestVoid(`${AUTH_PREFIX}/api-keys/${encodeURIComponent(prefix)}`, { method: "DELETE" });
}
