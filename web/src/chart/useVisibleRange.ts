/** The chart's visible logical range as React state (updated at most once per animation frame). */
import { useEffect, useState } from "react";

import type { ChartHandles } from "./useChart";
import type { LogicalWindow } from "./window";

export function useVisibleRange(handles: ChartHandles | null): LogicalWindow | null {
  const [range, setRange] = useState<LogicalWindow | null>(null);

  useEffect(() => {
    if (handles === null) return undefined;
    let frame: number | null = null;
    const flush = (): void => {
      frame = null;
      const r = handles.chart.timeScale().getVisibleLogicalRange();
      setRange((prev) => (r === null ? null : prev !== null && prev.from === r.from && prev.to === r.to ? prev : { from: r.from, to: r.to }));
    };
    const onChange = (): void => {
      if (frame === null) frame = requestAnimationFrame(flush);
    };
    const timeScale = handles.chart.timeScale();
    timeScale.subscribeVisibleLogicalRangeChange(onChange);
    return () => {
      if (frame !== null) cancelAnimationFrame(frame);
      timeScale.unsubscribeVisibleLogicalRangeChange(onChange);
      setRange(null);
    };
  }, [handles]);

  return range;
}
