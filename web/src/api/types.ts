/**
 * Names for the API's types. Every type here is an alias of the schema generated from the
 * server's OpenAPI document (`npm run gen:types`); none is written by hand.
 */
import type { components } from "./generated/schema";

type Schemas = components["schemas"];

export type Dataset = Schemas["Dataset"];
export type DataQuality = Schemas["DataQuality"];
export type DataQualityReport = Schemas["DataQualityReport"];
export type Gap = Schemas["Gap"];
export type DateRange = Schemas["DateRange"];
export type FetchRequest = Schemas["FetchRequest"];
export type JobAccepted = Schemas["JobAccepted"];
export type JobStatus = Schemas["JobStatus"];
export type SymbolProgress = Schemas["SymbolProgress"];
export type DeletedDataset = Schemas["DeletedDataset"];
export type BarPage = Schemas["BarPage"];
export type BarRow = Schemas["BarRow"];
export type Readiness = Schemas["Readiness"];
export type StoreHealth = Schemas["StoreHealth"];
export type Liveness = Schemas["Liveness"];
export type ChartDataRequest = Schemas["ChartDataRequest"];

export type Timespan = Dataset["timespan"];
export type Source = Dataset["source"];
export type JobState = JobStatus["state"];
/** A `fetch_progress` event from `/api/v1/ws` (WebSocket events are not in the OpenAPI document; its fields are JobStatus's). */
export type FetchProgressEvent = Pick<JobStatus, "job_id" | "owner" | "state" | "symbols"> & { type: "fetch_progress" };
/** A chart timeframe the user asks for (the request may omit it: then the server picks one). */
export type Timeframe = NonNullable<ChartDataRequest["timeframe"]>;
/** Which bars of a trading day: `regular` is 09:30–16:00 New York, `extended` adds pre/after-market. */
export type TradingSession = ChartDataRequest["session"];

export type Session = Schemas["Session"];
export type SessionUser = Schemas["SessionUser"];
export type Me = Schemas["Me"];
export type LoginRequest = Schemas["LoginRequest"];
export type TokenLoginRequest = Schemas["TokenLoginRequest"];
export type ApiKeyInfo = Schemas["ApiKeyInfo"];
export type ApiKeyCreate = Schemas["ApiKeyCreate"];
export type ApiKeyCreated = Schemas["ApiKeyCreated"];
export type UserInfo = Schemas["UserInfo"];
export type UserCreate = Schemas["UserCreate"];
export type UserUpdate = Schemas["UserUpdate"];
export type AuditEntry = Schemas["AuditEntry"];

export type Role = Me["role"];

export type IndicatorInfo = Schemas["IndicatorInfo"];
export type IndicatorParameter = Schemas["IndicatorParameter"];
export type IndicatorOutput = Schemas["IndicatorOutput"];
/** `integer` (a period), `number` (a multiplier), `ma_type` (TA-Lib's moving-average kinds, 0–8), `date` (an ISO date). */
export type ParameterType = IndicatorParameter["type"];
/** How an output is drawn: TA-Lib's output flags, and `markers` for candlestick patterns. */
export type IndicatorPlot = IndicatorOutput["plot"];
/** Where an indicator is drawn: over the prices, in a pane of its own, or as markers on the bars. */
export type IndicatorPane = IndicatorInfo["pane"];
export type AuditOutcome = AuditEntry["outcome"];

export type ParamSpec = Schemas["ParamSpec"];
export type ParseProblem = Schemas["ParseProblem"];
export type StrategyCheck = Schemas["StrategyCheck"];
export type StrategyCheckResult = Schemas["StrategyCheckResult"];
export type Strategy = Schemas["Strategy"];
export type StrategyCreate = Schemas["StrategyCreate"];
export type StrategyUpdate = Schemas["StrategyUpdate"];
export type StrategyVersion = Schemas["StrategyVersion"];
export type BacktestRequest = Schemas["BacktestRequest"];
export type SweepRequest = Schemas["SweepRequest"];
export type WalkForwardRequest = Schemas["WalkForwardRequest"];
export type RunAccepted = Schemas["RunAccepted"];
export type Trade = Schemas["Trade"];
export type LookAheadAudit = Schemas["LookAheadAudit"];
export type SeriesPin = Schemas["SeriesPin"];
export type SweepRow = Schemas["SweepRow"];
export type SweepResult = Schemas["SweepResult"];
export type WalkForwardFold = Schemas["WalkForwardFold"];
export type WalkForwardResult = Schemas["WalkForwardResult"];
export type StrategyRun = Schemas["StrategyRun"];
export type StrategyRunSummary = Schemas["StrategyRunSummary"];
export type ScreenRequest = Schemas["ScreenRequest"];
export type ScreenMatch = Schemas["ScreenMatch"];
export type ScreenResult = Schemas["ScreenResult"];

/** Every metric a run reports, and what sweeps and walk-forward may rank by. */
export type MetricName = SweepRequest["metric"];
export type Metrics = Strategy["performance_metrics"];
export type BacktestMode = BacktestRequest["mode"];
export type RunKind = StrategyRun["kind"];
export type RunStatus = StrategyRun["status"];
export type ExitReason = Trade["exit_reason"];
/**
 * `[ts (epoch ms UTC), equity, drawdown_pct]`: the server sends each point as an array (msgspec's
 * `array_like`), which the OpenAPI document describes as an object.
 */
export type EquityCurve = Schemas["EquityCurve"];
export type EquityPoint = EquityCurve["points"][number];

export type ProjectionRequest = Schemas["ProjectionRequest"];
export type ProjectionAccepted = Schemas["ProjectionAccepted"];
/** How a projection did against the closes that came (over the `bars` of its horizon that have). */
export type ProjectionScore = Schemas["ProjectionScore"];
export type Projection = Schemas["Projection"];
export type EvaluationRequest = Schemas["EvaluationRequest"];
export type EvaluationAccepted = Schemas["EvaluationAccepted"];
/** A method's mean scores over an evaluation's cuts; `skill` is 1 − MAE / MAE of naive (0 for naive). */
export type EvaluationRow = Schemas["MethodScore"];
/** An evaluation, its methods ranked best first. */
export type Evaluation = Schemas["Evaluation"];
/** How a projection forecasts: a random walk, a regression channel, a Monte-Carlo fan, exponential smoothing, ARIMA. */
export type ProjectionMethod = Projection["method"];
export type ProjectionStatus = Projection["status"];
