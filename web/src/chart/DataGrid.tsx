/**
 * Under the chart: the bars of the visible window as a table (time in ET, O H L C V, then each
 * indicator output drawn), rendering only the rows in view (fixed row height, one spacer). The
 * row under the crosshair is highlighted and scrolled into view; clicking a row centres the
 * chart on that bar.
 */
import { type CSSProperties, type UIEvent, useEffect, useLayoutEffect, useRef, useState } from "react";

import { indexOfTime, type IndexRange, rowWindow, scrollToReveal, visibleBarRange } from "./grid";
import { formatLineValue, type IndicatorLine } from "./indicatorLayout";
import { loadedValue, type ValueOf } from "./indicators";
import type { Bar } from "./series";
import { formatBarTime, formatCompact, formatPrice, MARKET_TZ_LABEL } from "./time";
import type { LogicalWindow } from "./window";

export const ROW_PX = 22;
/** The grid's own columns (time, O H L C, volume); indicator columns follow. */
const BASE_COLUMNS = "minmax(130px, 1.6fr) repeat(4, minmax(60px, 1fr)) minmax(60px, 1fr)";
const INDICATOR_COLUMN_PX = 64;
/** The narrowest the grid gets before it scrolls sideways: its columns, their gaps and padding (px). */
const minGridPx = (indicators: number): number => 130 + 5 * 60 + indicators * INDICATOR_COLUMN_PX + (5 + indicators) * 8 + 2 * 10 + 18;

interface Props {
  bars: readonly Bar[];
  range: LogicalWindow | null;
  /** Epoch ms of the bar under the crosshair (or picked), if any. */
  activeTs: number | null;
  bucketMs: number;
  /** Called with the index (into `bars`) of a clicked row. */
  onPick: (index: number) => void;
  /** Indicator outputs drawn on the chart (`useIndicatorLines`), listed after the volume. */
  indicators?: readonly IndicatorLine[];
  /** An output's value at a bar (live values included); the loaded one when absent. */
  valueOf?: ValueOf;
}

export function DataGrid({ bars, range, activeTs, bucketMs, onPick, indicators = [], valueOf = loadedValue }: Props) {
  const viewport = useRef<HTMLDivElement | null>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(0);

  useLayoutEffect(() => {
    const el = viewport.current;
    if (el === null) return undefined;
    setHeight(el.clientHeight);
    if (typeof ResizeObserver === "undefined") return undefined;
    const observer = new ResizeObserver(() => setHeight(el.clientHeight));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  const shown: IndexRange = visibleBarRange(bars.length, range);
  const count = shown.end - shown.start;
  const rows = rowWindow(scrollTop, height, count, ROW_PX);
  const activeIndex = activeTs !== null ? indexOfTime(bars, activeTs) : -1;
  const columns: CSSProperties | undefined =
    indicators.length > 0 ? { gridTemplateColumns: `${BASE_COLUMNS} repeat(${indicators.length}, minmax(${INDICATOR_COLUMN_PX}px, 1fr))` } : undefined;
  // Many indicator columns: head and body scroll sideways together.
  const wide: CSSProperties | undefined = indicators.length > 0 ? { minWidth: minGridPx(indicators.length) } : undefined;

  // Follow the crosshair.
  useEffect(() => {
    const el = viewport.current;
    if (el === null || activeIndex < shown.start || activeIndex >= shown.end) return;
    const top = scrollToReveal(activeIndex - shown.start, el.scrollTop, el.clientHeight, ROW_PX);
    if (top !== el.scrollTop) {
      el.scrollTop = top;
      setScrollTop(el.scrollTop);
    }
  }, [activeIndex, shown.start, shown.end]);

  const onScroll = (e: UIEvent<HTMLDivElement>): void => setScrollTop(e.currentTarget.scrollTop);

  const items = [];
  for (let row = rows.start; row < rows.end; row += 1) {
    const index = shown.start + row;
    const bar = bars[index];
    if (bar === undefined) continue;
    const active = index === activeIndex;
    const up = bar.close >= bar.open;
    items.push(
      <div
        key={bar.ts}
        role="row"
        className={`grid-row${active ? " active" : ""}`}
        style={{ ...columns, top: row * ROW_PX }}
        data-testid="grid-row"
        data-ts={bar.ts}
        data-active={active ? "true" : "false"}
        aria-selected={active}
        onClick={() => onPick(index)}
      >
        <span role="cell" className="grid-time">
          {formatBarTime(Math.floor(bar.ts / 1000), bucketMs)}
        </span>
        <span role="cell">{formatPrice(bar.open)}</span>
        <span role="cell">{formatPrice(bar.high)}</span>
        <span role="cell">{formatPrice(bar.low)}</span>
        <span role="cell" className={up ? "up" : "down"}>
          {formatPrice(bar.close)}
        </span>
        <span role="cell">{formatCompact(bar.volume)}</span>
        {indicators.map((line) => (
          <span key={line.column.key} role="cell" data-key={line.column.key}>
            {formatLineValue(line, valueOf(bar, line.column.key))}
          </span>
        ))}
      </div>,
    );
  }

  return (
    <div className="grid" role="table" aria-label="Bars in view" aria-rowcount={count} data-testid="data-grid" data-rows={count}>
      <div className="grid-row grid-head" role="row" style={{ ...columns, ...wide }}>
        <span role="columnheader">Time ({MARKET_TZ_LABEL})</span>
        <span role="columnheader">Open</span>
        <span role="columnheader">High</span>
        <span role="columnheader">Low</span>
        <span role="columnheader">Close</span>
        <span role="columnheader">Volume</span>
        {indicators.map((line) => (
          <span key={line.column.key} role="columnheader" className="grid-ind" style={{ color: line.color }} title={`${line.column.displayName}: ${line.label}`}>
            {line.shortLabel}
          </span>
        ))}
      </div>
      <div className="grid-body" ref={viewport} onScroll={onScroll} style={wide}>
        <div className="grid-spacer" style={{ height: count * ROW_PX }}>
          {items}
        </div>
        {count === 0 ? <div className="grid-empty muted">No bars in view.</div> : null}
      </div>
    </div>
  );
}
