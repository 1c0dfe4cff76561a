/**
 * Live minute bars of one symbol over the API's WebSocket (`/api/v1/ws`; the session cookie
 * authenticates it): subscribes with `{"action": "subscribe", "symbols": [symbol]}`, hands each
 * `stock_update` of that symbol and adjustment to the listeners (the chart binding) and to the query
 * cache (`serverEvents.ts`), and each of its `indicator_calculated` events to the indicator listeners
 * (the indicator series), and reconnects after a drop, with a growing pause, refreshing the session
 * once when the socket is refused.
 */
import { useCallback, useEffect, useRef, useState } from "react";

import { mayBeSignedIn } from "../api/cookies";
import type { IndicatorCalculated, StockUpdate } from "../api/events";
import { refreshSession } from "../api/http";
import { closeQuietly, eventsUrl } from "../api/socket";
import { useServerEventHandler } from "../queries/useServerEventHandler";
import { parseIndicatorCalculated } from "./indicatorLive";
import { parseStockUpdate } from "./live";

const RECONNECT_MS = [1000, 3000, 10_000, 30_000] as const;

export type LiveStatus = "off" | "connecting" | "live" | "error";

/** What the chart binding subscribes to. */
export interface LiveSource {
  /** Calls `listener` with each update of the symbol; returns an unsubscribe. */
  subscribe: (listener: (update: StockUpdate) => void) => () => void;
}

export interface LiveBars extends LiveSource {
  status: LiveStatus;
  /** Why the server refused the subscription, when it did. */
  detail: string | null;
  /** The latest update received (for the chart header's indicator). */
  last: StockUpdate | null;
  /** Updates received for the symbol since it was selected. */
  received: number;
  /** Calls `listener` with each `indicator_calculated` event of the symbol; returns an unsubscribe. */
  subscribeIndicators: (listener: (event: IndicatorCalculated) => void) => () => void;
}

interface Reply {
  type?: unknown;
  symbols?: unknown;
  detail?: unknown;
}

export function useLiveBars(symbol: string | null, adjusted: boolean): LiveBars {
  const [status, setStatus] = useState<LiveStatus>("off");
  const [detail, setDetail] = useState<string | null>(null);
  const [last, setLast] = useState<StockUpdate | null>(null);
  const [received, setReceived] = useState(0);
  const listeners = useRef(new Set<(update: StockUpdate) => void>());
  const indicatorListeners = useRef(new Set<(event: IndicatorCalculated) => void>());
  const onServerEvent = useServerEventHandler();

  const subscribe = useCallback((listener: (update: StockUpdate) => void) => {
    const set = listeners.current;
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }, []);
  const subscribeIndicators = useCallback((listener: (event: IndicatorCalculated) => void) => {
    const set = indicatorListeners.current;
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }, []);

  useEffect(() => {
    if (symbol === null || typeof WebSocket === "undefined" || typeof window === "undefined") return undefined;
    let socket: WebSocket | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    let failures = 0;

    const onMessage = (message: MessageEvent): void => {
      const update = parseStockUpdate(message.data);
      if (update !== null) {
        if (update.symbol !== symbol || update.adjusted !== adjusted) return;
        setLast(update);
        setReceived((n) => n + 1);
        for (const listener of listeners.current) listener(update);
        onServerEvent(update);
        return;
      }
      const calculated = parseIndicatorCalculated(message.data);
      if (calculated !== null) {
        if (calculated.symbol !== symbol || calculated.adjusted !== adjusted) return;
        for (const listener of indicatorListeners.current) listener(calculated);
        onServerEvent(calculated);
        return;
      }
      let reply: Reply;
      try {
        reply = JSON.parse(String(message.data)) as Reply;
      } catch {
        return;
      }
      if (reply.type === "subscribed" && Array.isArray(reply.symbols) && reply.symbols.includes(symbol)) {
        setStatus("live");
        setDetail(null);
      } else if (reply.type === "error") {
        setStatus("error");
        setDetail(typeof reply.detail === "string" ? reply.detail : "the server refused the subscription");
      }
    };

    const connect = (): void => {
      setStatus("connecting");
      let ws: WebSocket;
      try {
        ws = new WebSocket(eventsUrl(window.location));
      } catch {
        retry(false);
        return;
      }
      socket = ws;
      let opened = false;
      ws.onopen = () => {
        opened = true;
        failures = 0;
        ws.send(JSON.stringify({ action: "subscribe", symbols: [symbol] }));
      };
      ws.onmessage = onMessage;
      ws.onclose = () => {
        if (!stopped) retry(opened);
      };
    };

    const retry = (wasOpen: boolean): void => {
      setStatus("connecting");
      const pause = RECONNECT_MS[Math.min(failures, RECONNECT_MS.length - 1)] ?? 30_000;
      const refused = !wasOpen && failures === 0;
      failures += 1;
      // A socket refused at once is likely an expired access token: renew the session first.
      const ready = refused && mayBeSignedIn() ? refreshSession().then(() => undefined) : Promise.resolve();
      void ready.finally(() => {
        if (!stopped) timer = setTimeout(connect, pause);
      });
    };

    connect();
    return () => {
      stopped = true;
      clearTimeout(timer);
      closeQuietly(socket);
      setStatus("off");
      setDetail(null);
      setLast(null);
      setReceived(0);
    };
  }, [symbol, adjusted, onServerEvent]);

  return { status, detail, last, received, subscribe, subscribeIndicators };
}
