/** Query keys of the signed-in user's own things (`/auth/api-keys`). */
export const accountKeys = {
  all: ["account"] as const,
  /** `username`'s own API keys. */
  apiKeys: (username: string) => [...accountKeys.all, username, "api-keys"] as const,
};
