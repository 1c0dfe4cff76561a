/**
 * Follows `strategy_applied` events of one run over the API's WebSocket (`/api/v1/ws`; the server
 * sends a run's events to its owner and the admins) and hands them to the query cache
 * (`serverEvents.ts`), which reads the run again. Reconnects after a drop while `runId` is set;
 * reports whether the socket is open so the caller can poll less often meanwhile.
 */
import { useEffect, useState } from "react";

import type { StrategyApplied } from "../../api/events";
import { closeQuietly, eventsUrl, messageObject } from "../../api/socket";
import { useServerEventHandler } from "../../queries/useServerEventHandler";

const RECONNECT_MS = 3000;

/** A `strategy_applied` event of run `runId` from a socket message, or `null` for anything else. */
export function parseStrategyApplied(data: unknown, runId: string): StrategyApplied | null {
  const value = messageObject(data);
  if (value === null) return null;
  const event = value as Partial<StrategyApplied>;
  if (event.type !== "strategy_applied" || event.run_id !== runId || typeof event.status !== "string" || typeof event.strategy_id !== "number") return null;
  return event as StrategyApplied;
}

export function useRunEvents(runId: string | null): boolean {
  const [open, setOpen] = useState(false);
  const onServerEvent = useServerEventHandler();

  useEffect(() => {
    if (runId === null || typeof WebSocket === "undefined" || typeof window === "undefined") return undefined;
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
        const event = parseStrategyApplied(message.data, runId);
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
  }, [runId, onServerEvent]);

  return open;
}
