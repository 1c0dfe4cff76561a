/** The handler a socket hook gives each server event it receives (see `serverEvents.ts`). */
import { useQueryClient } from "@tanstack/react-query";
import { useCallback } from "react";

import type { ServerEvent } from "../api/events";
import { applyServerEvent } from "./serverEvents";

export function useServerEventHandler(): (event: ServerEvent) => void {
  const client = useQueryClient();
  return useCallback(
    (event: ServerEvent) => {
      applyServerEvent(client, event);
    },
    [client],
  );
}
