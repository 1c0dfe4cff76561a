/** The app's one `QueryClient`: what every query and mutation does unless it says otherwise. */
import { QueryClient } from "@tanstack/react-query";

import { retryDelay, shouldRetry } from "./retry";

export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        retry: shouldRetry,
        retryDelay,
        // Every view asks the server again when it mounts (as it did before the cache), showing the
        // last answer meanwhile; server events invalidate what they change (`serverEvents.ts`).
        staleTime: 0,
        // Switching back to the tab must not refetch every query at once.
        refetchOnWindowFocus: false,
      },
      // A write is sent once: repeating it is the user's call.
      mutations: { retry: false },
    },
  });
}
