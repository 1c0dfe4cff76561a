/** Query keys of the server's health (`/ready`). */
export const healthKeys = {
  all: ["health"] as const,
  readiness: () => [...healthKeys.all, "readiness"] as const,
};
