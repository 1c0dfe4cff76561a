/**
 * Follows `fetch_progress` events of one job over the API's WebSocket (`/api/v1/ws`; the
 * session cookie authenticates it) and hands them to the query cache (`serverEvents.ts`), which
 * merges them into the job's status. Reconnects after a drop while `jobId` is set; reports whether
 * the socket is open so the caller can poll less often meanwhile.
 */
import { useEffect, useState } from "react";

import { closeQuietly, eventsUrl, messageObject } from "../../api/socket";
import type { FetchProgressEvent } from "../../api/types";
import { useServerEventHandler } from "../../queries/useServerEventHandler";

const RECONNECT_MS = 3000;

/** A `fetch_progress` event of job `jobId` from a socket message, or `null` for anything else. */
export function parseFetchProgress(data: unknown, jobId: string): FetchProgressEvent | null {
  const value = messageObject(data);
  if (value === null) return null;
  const event = value as Partial<FetchProgressEvent>;
  if (event.type !== "fetch_progress" || event.job_id !== jobId || !Array.isArray(event.symbols) || typeof event.state !== "string") {
    return null;
  }
  return event as FetchProgressEvent;
}

export function useJobEvents(jobId: string | null): boolean {
  const [open, setOpen] = useState(false);
  const onServerEvent = useServerEventHandler();

  useEffect(() => {
    if (jobId === null || typeof WebSocket === "undefined" || typeof window === "undefined") return undefined;
    let socket: WebSocket | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    const connect = (): void => {
      let ws: WebSocket;
      try {
        ws = new WebSocket(eventsUrl(window.location));
      } catch {
        timer = setTimeout(connect, RECONNECT_MS);
        return;
      }
      socket = ws;
      ws.onopen = () => {
        setOpen(true);
      };
      ws.onmessage = (message: MessageEvent) => {
        const event = parseFetchProgress(message.data, jobId);
        if (event !== null) onServerEvent(event);
      };
      ws.onclose = () => {
        setOpen(false);
        if (!stopped) timer = setTimeout(connect, RECONNECT_MS);
      };
    };
    connect();
    return () => {
      stopped = true;
      clearTimeout(timer);
      closeQuietly(socket);
      setOpen(false);
    };
  }, [jobId, onServerEvent]);

  return open;
}
