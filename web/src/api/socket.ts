/**
 * The live-events socket (`/api/v1/ws`): its URL, decoding its messages, and closing it without
 * its handlers firing again. Shared by every hook that listens to it.
 */

export const EVENTS_PATH = "/api/v1/ws";

/** The socket URL for a page served from `location` (same origin, `wss:` under https). */
export function eventsUrl(location: Pick<Location, "protocol" | "host">): string {
  return `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}${EVENTS_PATH}`;
}

/** A socket message's JSON object, or `null` when it is not text holding a JSON object. */
export function messageObject(data: unknown): Record<string, unknown> | null {
  if (typeof data !== "string") return null;
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

/** Closes `socket` after detaching its handlers, so no reconnect or state update follows. */
export function closeQuietly(socket: WebSocket | null): void {
  if (socket === null) return;
  socket.onclose = null;
  socket.onmessage = null;
  socket.onopen = null;
  socket.close();
}
