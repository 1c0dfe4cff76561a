/** Test fixture: catalog entries as `GET /indicators/list` answers them. Used by the unit tests only. */
import type { IndicatorInfo, IndicatorParameter } from "../../api/types";

const period = (def: number, min = 2): IndicatorParameter => ({
  name: "timeperiod",
  display_name: "Time Period",
  type: "integer",
  default: def,
  minimum: min,
  maximum: 100_000,
  help: "Bars in the window",
});

function info(name: string, group: string, display: string, parameters: IndicatorParameter[], patch: Partial<IndicatorInfo> = {}): IndicatorInfo {
  return {
    name,
    group,
    display_name: display,
    source: group === "K2 Quant" ? "k2q" : "ta-lib",
    parameters,
    inputs: ["close"],
    outputs: [{ name: "real", plot: "line" }],
    overlay: false,
    pane: "own",
    lookback: 0,
    unstable: false,
    stable_after: 0,
    levels: [],
    chartable: true,
    note: null,
    example: name.toLowerCase(),
    ...patch,
  };
}

export const RSI = info("RSI", "Momentum Indicators", "Relative Strength Index", [period(14)], { levels: [30, 70], unstable: true });
export const SMA = info("SMA", "Overlap Studies", "Simple Moving Average", [period(30)], { overlay: true, pane: "price" });
export const EMA = info("EMA", "Overlap Studies", "Exponential Moving Average", [period(30)], { overlay: true, pane: "price" });
export const BBANDS = info(
  "BBANDS",
  "Overlap Studies",
  "Bollinger Bands",
  [
    period(5),
    { name: "nbdevup", display_name: "Deviations up", type: "number", default: 2, minimum: -3e37, maximum: 3e37, help: "" },
    { name: "nbdevdn", display_name: "Deviations down", type: "number", default: 2, minimum: -3e37, maximum: 3e37, help: "" },
    { name: "matype", display_name: "MA Type", type: "ma_type", default: 0, minimum: 0, maximum: 8, help: "" },
  ],
  { overlay: true, pane: "price" },
);
export const MACD = info("MACD", "Momentum Indicators", "Moving Average Convergence/Divergence", [
  { name: "fastperiod", display_name: "Fast Period", type: "integer", default: 12, minimum: 2, maximum: 100_000, help: "" },
  { name: "slowperiod", display_name: "Slow Period", type: "integer", default: 26, minimum: 2, maximum: 100_000, help: "" },
  { name: "signalperiod", display_name: "Signal Period", type: "integer", default: 9, minimum: 1, maximum: 100_000, help: "" },
]);
export const CDLDOJI = info("CDLDOJI", "Pattern Recognition", "Doji", [], { pane: "markers", outputs: [{ name: "integer", plot: "markers" }] });
export const MAVP = info("MAVP", "Overlap Studies", "Moving average with variable period", [], {
  chartable: false,
  note: "Needs a periods input, which a bar does not have",
});
export const AVWAP = info("AVWAP", "K2 Quant", "Anchored VWAP", [{ name: "anchor", display_name: "Anchor", type: "date", default: null, help: "" }], { overlay: true, pane: "price" });
export const VWAP = info("VWAP", "K2 Quant", "Volume-Weighted Average Price", [], { overlay: true, pane: "price" });
export const HT_SINE = info("HT_SINE", "Cycle Indicators", "Hilbert Transform - SineWave", []);
export const ADD = info("ADD", "Math Operators", "Vector Arithmetic Add", []);

export const CATALOG: IndicatorInfo[] = [ADD, AVWAP, BBANDS, CDLDOJI, EMA, HT_SINE, MACD, MAVP, RSI, SMA, VWAP];
