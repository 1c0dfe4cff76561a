/**
 * A socket to the API's events (`/api/v1/ws`; the session cookie authenticates it) while `key` is
 * set, reconnecting after a drop. Each message goes to `parse`; the event it answers (null: not
 * one for this caller) goes to the query cache (`serverEvents.ts`). Reports whether the socket is
 * open, so the caller can poll less often meanwhile. `parse` is read as messages arrive: a new one
 * does not reconnect; a new `key` does.
 */
import { useEffect, useRef, useState } from "react";

import type { ServerEvent } from "../api/events";
import { closeQuietly, eventsUrl } from "../api/socket";
import { useServerEventHandler } from "./useServerEventHandler";

const RECONNECT_MS = 3000;

export function useEventSocket(key: string | null, parse: (data: unknown) => ServerEvent | null): boolean {
  const [open, setOpen] = useState(false);
  const onServerEvent = useServerEventHandler();
  const parseRef = useRef(parse);
  useEffect(() => {
    parseRef.current = parse;
  }, [parse]);

  useEffect(() => {
    if (key === null || typeof WebSocket === "undefined" || typeof window === "undefined") return undefined;
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
      ws.onopen = () => setOpen(true);
      ws.onmessage = (message: MessageEvent) => {
        const event = parseRef.current(message.data);
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
  }, [key, onServerEvent]);

  return open;
}
