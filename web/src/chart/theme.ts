/** Chart colours and options matching the app's dark theme. */
import { ColorType, CrosshairMode, type DeepPartial, type ChartOptions } from "lightweight-charts";

import { DOWN_COLOR, UP_COLOR } from "./series";

export const CHART_OPTIONS: DeepPartial<ChartOptions> = {
  autoSize: true,
  layout: {
    background: { type: ColorType.Solid, color: "#0f131a" },
    textColor: "#8b94a7",
    fontSize: 11,
    fontFamily: "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace",
    panes: { separatorColor: "#232a36", separatorHoverColor: "#2f3a4d", enableResize: true },
    attributionLogo: true,
  },
  grid: {
    vertLines: { color: "#1a202b" },
    horzLines: { color: "#1a202b" },
  },
  crosshair: {
    mode: CrosshairMode.Normal,
    vertLine: { color: "#56627a", labelBackgroundColor: "#2b3446" },
    horzLine: { color: "#56627a", labelBackgroundColor: "#2b3446" },
  },
  rightPriceScale: { borderColor: "#232a36" },
  timeScale: { borderColor: "#232a36", rightOffset: 4, minBarSpacing: 0.2 },
};

export const CANDLE_OPTIONS = {
  upColor: UP_COLOR,
  downColor: DOWN_COLOR,
  borderUpColor: UP_COLOR,
  borderDownColor: DOWN_COLOR,
  wickUpColor: UP_COLOR,
  wickDownColor: DOWN_COLOR,
  priceLineVisible: true,
} as const;

export const VOLUME_OPTIONS = {
  priceFormat: { type: "volume" as const },
  priceLineVisible: false,
  lastValueVisible: false,
} as const;

/** Share of the chart's height given to the volume pane. */
export const VOLUME_PANE_STRETCH = 0.22;

/** Share of the chart's height given to each indicator pane (RSI, MACD…), relative to the two above. */
export const INDICATOR_PANE_STRETCH = 0.22;

export const INDICATOR_LINE_OPTIONS = {
  lineWidth: 1,
  priceLineVisible: false,
  lastValueVisible: false,
  crosshairMarkerRadius: 3,
} as const;

export const INDICATOR_HISTOGRAM_OPTIONS = {
  priceLineVisible: false,
  lastValueVisible: false,
} as const;

/** Reference levels of an indicator pane (RSI 30/70, zero lines). */
export const LEVEL_LINE_OPTIONS = {
  color: "#56627a",
  lineWidth: 1,
  axisLabelVisible: false,
  title: "",
} as const;
