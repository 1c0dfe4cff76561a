/** The bar under the chart's crosshair (null when the pointer is off the chart). */
import type { MouseEventParams } from "lightweight-charts";
import { useEffect, useState } from "react";

import type { ChartHandles } from "./useChart";

export interface CrosshairBar {
  /** UTC seconds. */
  timeSec: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number | null;
}

export function useCrosshairBar(handles: ChartHandles | null): CrosshairBar | null {
  const [bar, setBar] = useState<CrosshairBar | null>(null);

  useEffect(() => {
    if (handles === null) return undefined;
    const onMove = (param: MouseEventParams): void => {
      const candle = param.seriesData.get(handles.candles);
      if (typeof param.time !== "number" || candle === undefined || !("open" in candle)) {
        setBar(null);
        return;
      }
      const vol = param.seriesData.get(handles.volume);
      setBar({
        timeSec: param.time,
        open: candle.open,
        high: candle.high,
        low: candle.low,
        close: candle.close,
        volume: vol !== undefined && "value" in vol ? vol.value : null,
      });
    };
    handles.chart.subscribeCrosshairMove(onMove);
    return () => {
      handles.chart.unsubscribeCrosshairMove(onMove);
      setBar(null);
    };
  }, [handles]);

  return bar;
}
