/**
 * The indicator catalog (`GET /indicators/list`), read once it is first wanted (the picker opened,
 * an indicator edited) and kept for the session: it changes only with the server.
 */
import { useQuery } from "@tanstack/react-query";

import { listIndicators } from "../../api/endpoints/indicators";
import type { IndicatorInfo } from "../../api/types";
import { indicatorKeys } from "../../queries/keys/indicators";

export function useIndicatorCatalog(wanted: boolean): { catalog: IndicatorInfo[] | null; error: unknown; loading: boolean } {
  const { data, error, isFetching } = useQuery({
    queryKey: indicatorKeys.list(),
    queryFn: ({ signal }) => listIndicators(signal),
    enabled: wanted,
    staleTime: Infinity,
  });
  return { catalog: data ?? null, error, loading: isFetching };
}
