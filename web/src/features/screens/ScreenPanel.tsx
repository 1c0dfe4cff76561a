/**
 * Screens: one expression of the strategy language (`rsi(close, 14) < 30 and close > sma(close, 200)`)
 * on the last bar of every dataset of a timeframe. The expression is checked as it is typed; the
 * matches are listed with the values the expression used, sorted by a click on a column's head and
 * paged by the server; a click on a match charts its dataset.
 */
import { keepPreviousData, skipToken, useQuery } from "@tanstack/react-query";
import { useMemo, useState } from "react";

import { runScreen } from "../../api/endpoints/screens";
import type { ParseProblem, Timeframe, TradingSession } from "../../api/types";
import { formatBarTime } from "../../chart/time";
import { screenKeys } from "../../queries/keys/strategies";
import { bucketMs, TIMEFRAMES } from "../../state/timeframe";
import { ProblemBox } from "../../ui/ProblemBox";
import { useIndicatorCatalog } from "../indicators/useIndicatorCatalog";
import { problemLine } from "../strategies/diagnostics";
import { completionWords } from "../strategies/language";
import { LazyEditor } from "../strategies/LazyEditor";
import { useStrategyCheck } from "../strategies/useStrategyCheck";
import { BY_SYMBOL, nextSort, PAGE_SIZE, pageText, type ScreenForm, screenRequest, type ScreenSort, screenValue, sortState, SYMBOL_COLUMN } from "./screenTable";

interface Props {
  /** The chart's timeframe, the screen's first. */
  timeframe: Timeframe;
  session: TradingSession;
  /** Chart a matched dataset. */
  onOpen: (table: string, timeframe: Timeframe) => void;
}

const NO_PROBLEMS: readonly ParseProblem[] = [];
const EXAMPLE = "rsi(close, 14) < 30 and close > sma(close, 200)";

export function ScreenPanel({ timeframe, session, onOpen }: Props) {
  const [expression, setExpression] = useState("");
  const [tf, setTf] = useState<Timeframe>(timeframe);
  const [submitted, setSubmitted] = useState<ScreenForm | null>(null);
  const [sort, setSort] = useState<ScreenSort>(BY_SYMBOL);
  const [page, setPage] = useState(0);
  const { catalog } = useIndicatorCatalog(true);
  const words = useMemo(() => completionWords(catalog ?? []), [catalog]);
  const checked = useStrategyCheck(expression, "expression");
  const current = checked.code === expression ? checked.result : null;
  const currentProblems = current?.problems ?? NO_PROBLEMS;

  const request = submitted !== null ? screenRequest(submitted, sort, page) : null;
  const query = useQuery({
    queryKey: screenKeys.result(request ?? {}),
    queryFn: request !== null ? ({ signal }) => runScreen(request, signal) : skipToken,
    placeholderData: keepPreviousData,
    staleTime: 30_000,
    retry: false,
  });
  const result = request !== null ? (query.data ?? null) : null;

  const submit = (): void => {
    if (expression.trim() === "") return;
    setSubmitted({ expression, timeframe: tf, session });
    setPage(0);
  };
  const sortBy = (column: string): void => {
    setSort(nextSort(sort, column));
    setPage(0);
  };
  const pages = result !== null ? pageText(page * PAGE_SIZE, result.matches.length, result.total) : null;
  const width = bucketMs(result?.timeframe ?? tf) ?? 86_400_000;
  const columns = result?.columns ?? [];

  const head = (column: string, label: string) => {
    const state = sortState(sort, column);
    return (
      <th key={column} className={column === SYMBOL_COLUMN ? "" : "num"} aria-sort={state}>
        <button type="button" className="sort-head" onClick={() => sortBy(column)} data-testid="screen-sort" data-column={column}>
          {label}
          {state === "ascending" ? " ▲" : state === "descending" ? " ▼" : ""}
        </button>
      </th>
    );
  };

  return (
    <div className="screens" data-testid="screen-panel">
      <div className="screen-form">
        <LazyEditor
          value={expression}
          onChange={setExpression}
          problems={currentProblems}
          checked={checked.code}
          words={words}
          label="Screen expression"
          singleLine
          placeholderText={EXAMPLE}
          testId="screen-expression"
          onEnter={submit}
        />
        <select className="input input-small" value={tf} onChange={(e) => setTf(e.target.value as Timeframe)} aria-label="Screen timeframe" data-testid="screen-timeframe">
          {TIMEFRAMES.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
        <button type="button" className="btn btn-small btn-primary" disabled={expression.trim() === "" || current?.ok === false} onClick={submit} data-testid="screen-run">
          Screen
        </button>
      </div>
      {currentProblems.length > 0 ? (
        <ul className="strategy-problems error-text" role="alert" data-testid="screen-problems">
          {currentProblems.map((p) => (
            <li key={`${p.line}:${p.column}`}>{problemLine(p)}</li>
          ))}
        </ul>
      ) : null}
      <ProblemBox error={query.error} testId="screen-problem" />
      {result !== null ? (
        <>
          <div className="screen-summary muted" data-testid="screen-summary" data-total={result.total}>
            {result.total} of {result.screened} datasets match · {Math.round(result.duration_ms)} ms
            {result.skipped.length > 0 ? <span title={result.skipped.join("\n")}> · {result.skipped.length} skipped</span> : null}
            {query.isFetching ? " · …" : ""}
          </div>
          {result.matches.length > 0 ? (
            <div className="table-wrap">
              <table className="table table-dense screen-table" data-testid="screen-results">
                <thead>
                  <tr>
                    {head(SYMBOL_COLUMN, "Symbol")}
                    <th>Bar</th>
                    {columns.map((c) => head(c, c))}
                  </tr>
                </thead>
                <tbody>
                  {result.matches.map((m) => (
                    <tr key={m.table} className="screen-row" onClick={() => onOpen(m.table, (TIMEFRAMES as readonly string[]).includes(result.timeframe) ? (result.timeframe as Timeframe) : tf)} data-testid="screen-row" data-table={m.table}>
                      <td>
                        <button type="button" className="link-btn symbol" title={`Chart ${m.table}`}>
                          {m.symbol}
                        </button>
                      </td>
                      <td className="muted nowrap">{formatBarTime(Math.floor(m.ts / 1000), width)}</td>
                      {columns.map((c) => (
                        <td key={c} className="num">
                          {screenValue(m.values[c])}
                        </td>
                      ))}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : null}
          {pages !== null && (pages.previous || pages.next) ? (
            <div className="screen-pages">
              <button type="button" className="btn btn-small" disabled={!pages.previous} onClick={() => setPage(page - 1)}>
                ← Previous
              </button>
              <span className="muted">{pages.text}</span>
              <button type="button" className="btn btn-small" disabled={!pages.next} onClick={() => setPage(page + 1)}>
                Next →
              </button>
            </div>
          ) : null}
        </>
      ) : submitted === null ? (
        <div className="muted pad-small">Type an expression (e.g. <code>{EXAMPLE}</code>) and press Enter.</div>
      ) : query.isFetching ? (
        <div className="muted pad-small">Screening…</div>
      ) : null}
    </div>
  );
}
