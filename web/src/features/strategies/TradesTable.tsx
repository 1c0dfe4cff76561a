/**
 * A complete backtest's trades, a page at a time (`TRADES_PAGE`): the first page comes with the run,
 * the others are asked for (`trades_offset`, `trades_limit`) as the pager moves, each kept once read
 * (a finished run never changes). The page shown stays until the next one has arrived.
 */
import { keepPreviousData, skipToken, useQuery } from "@tanstack/react-query";
import { useRef, useState } from "react";

import { getRun } from "../../api/endpoints/strategies";
import type { StrategyRun, Trade } from "../../api/types";
import { formatBarTime, formatPrice } from "../../chart/time";
import { strategyKeys } from "../../queries/keys/strategies";
import { ProblemBox } from "../../ui/ProblemBox";
import { formatMetric } from "./metrics";
import { loadedPage, pagerText, pageWindow } from "./tradePages";

interface Props {
  run: StrategyRun;
  /** The run's bar width (ms), for the trades' times. */
  bucket: number;
}

interface Page {
  offset: number;
  trades: Trade[];
}

export function TradesTable({ run, bucket }: Props) {
  const [page, setPage] = useState(0);
  const wrap = useRef<HTMLDivElement>(null);
  const total = run.trades_total;
  const range = pageWindow(page, total);
  const loaded = loadedPage(run.trades ?? [], range, total);
  const query = useQuery({
    queryKey: strategyKeys.trades(run.run_id, range.offset, range.limit),
    queryFn:
      loaded === null
        ? async ({ signal }): Promise<Page> => ({ offset: range.offset, trades: (await getRun(run.run_id, signal, range)).trades ?? [] })
        : skipToken,
    staleTime: Infinity,
    placeholderData: keepPreviousData,
    retry: false,
  });
  // While the next page loads, the one before it stays (numbered as it was).
  const shown: Page | null = loaded !== null ? { offset: range.offset, trades: loaded } : (query.data ?? null);

  if (total === 0) return <div className="muted pad-small">No trades.</div>;
  const time = (iso: string | null): string => (iso === null ? "open" : formatBarTime(Math.floor(Date.parse(iso) / 1000), bucket));
  const pager = pagerText(range.offset, Math.min(range.limit, total - range.offset), total);
  const current = range.offset / range.limit;
  const waiting = loaded === null && (query.isPlaceholderData || query.isPending);
  const go = (to: number): void => {
    setPage(to);
    if (wrap.current !== null) wrap.current.scrollTop = 0;
  };

  return (
    <div className="trades-paged">
      <div className="table-wrap trades" ref={wrap}>
        <table className="table table-dense" data-testid="run-trades" data-total={total} data-offset={shown?.offset ?? ""}>
          <thead>
            <tr>
              <th>#</th>
              <th>Side</th>
              <th>Entry</th>
              <th className="num">Price</th>
              <th>Exit</th>
              <th className="num">Price</th>
              <th className="num">Size</th>
              <th className="num">P&amp;L</th>
              <th className="num">Return</th>
              <th className="num">Bars</th>
              <th>Exit reason</th>
            </tr>
          </thead>
          <tbody>
            {(shown?.trades ?? []).map((t, i) => (
              <tr key={`${t.entry_bar}:${i}`} data-testid="trade-row">
                <td className="muted">{(shown?.offset ?? 0) + i + 1}</td>
                <td className={t.size >= 0 ? "up" : "down"}>{t.size >= 0 ? "long" : "short"}</td>
                <td className="nowrap">{time(t.entry_time)}</td>
                <td className="num">{formatPrice(t.entry_price)}</td>
                <td className="nowrap">{time(t.exit_time)}</td>
                <td className="num">{t.exit_price !== null ? formatPrice(t.exit_price) : "—"}</td>
                <td className="num">{Math.abs(t.size).toLocaleString("en-US", { maximumFractionDigits: 4 })}</td>
                <td className={t.pnl >= 0 ? "num up" : "num down"}>{formatPrice(t.pnl)}</td>
                <td className={t.return_pct >= 0 ? "num up" : "num down"}>{formatMetric("return_pct", t.return_pct)}</td>
                <td className="num">{t.duration_bars}</td>
                <td className="muted">{t.exit_reason.replace("_", " ")}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {shown === null && query.isPending ? <div className="muted pad-small">Loading trades…</div> : null}
      </div>
      {pager.previous || pager.next ? (
        <div className="screen-pages" data-testid="trades-pager">
          <button type="button" className="btn btn-small" disabled={!pager.previous} onClick={() => go(current - 1)} data-testid="trades-previous">
            ← Previous
          </button>
          <span className="muted" data-testid="trades-range">
            {pager.text}
          </span>
          <button type="button" className="btn btn-small" disabled={!pager.next} onClick={() => go(current + 1)} data-testid="trades-next">
            Next →
          </button>
          {waiting ? <span className="muted">Loading…</span> : null}
        </div>
      ) : null}
      <ProblemBox error={query.error} testId="trades-problem" />
    </div>
  );
}
