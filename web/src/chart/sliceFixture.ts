/**
 * Test fixture: chart slices as the server sends them (an Arrow IPC stream read back), with
 * indicator columns and their field metadata. Used by the unit tests only.
 */
import { Field, Float64, makeData, RecordBatch, Schema, Struct, Table, tableFromIPC, tableToIPC, Timestamp, TimeUnit, vectorFromArray } from "apache-arrow";

import type { IndicatorColumn } from "./indicators";

/** An indicator column as the server describes it. */
export interface FixtureIndicator {
  spec: string;
  output: string;
  overlay: boolean;
  values: (number | null)[];
  /** More field metadata (`k2q.pane`, `k2q.levels` …), as strings. */
  metadata?: Record<string, string>;
}

/** A chart slice as the server sends it: OHLCV, then `ind:<spec>:<output>` columns with field metadata. */
export function sliceWithIndicators(ts: number[], close: number[], indicators: FixtureIndicator[]): Table {
  const tsType = new Timestamp(TimeUnit.MILLISECOND, "UTC");
  const fields = [new Field("ts", tsType, false), ...["open", "high", "low", "close", "volume"].map((name) => new Field(name, new Float64(), false))];
  const children = [
    makeData({ type: tsType, length: ts.length, data: BigInt64Array.from(ts.map(BigInt)) }),
    ...[close, close, close, close, close.map(() => 100)].map((values) => makeData({ type: new Float64(), length: values.length, data: Float64Array.from(values) })),
  ];
  for (const ind of indicators) {
    const metadata = new Map([
      ["k2q.indicator", ind.spec],
      ["k2q.output", ind.output],
      ["k2q.overlay", ind.overlay ? "true" : "false"],
      ["k2q.display_name", ind.spec.toUpperCase()],
      ...Object.entries(ind.metadata ?? {}),
    ]);
    fields.push(new Field(`ind:${ind.spec}:${ind.output}`, new Float64(), true, metadata));
    const vector = vectorFromArray(ind.values, new Float64());
    const data = vector.data[0];
    if (data === undefined) throw new Error("empty vector");
    children.push(data);
  }
  const schema = new Schema(fields);
  const batch = new RecordBatch(schema, makeData({ type: new Struct(fields), length: ts.length, children }));
  // Round-trip through IPC, as the browser receives it.
  return tableFromIPC(tableToIPC(new Table([batch]), "stream"));
}


/** An indicator column as `indicatorColumns` reads it: a line in a pane of its own unless `patch` says otherwise. */
export function fixtureColumn(spec: string, output: string, patch: Partial<IndicatorColumn> = {}): IndicatorColumn {
  return {
    key: `ind:${spec}:${output}`,
    spec,
    output,
    overlay: false,
    displayName: spec,
    function: (spec.split("(")[0] ?? spec).toUpperCase(),
    pane: patch.overlay === true ? "price" : "own",
    plot: "line",
    levels: [],
    stableFrom: -Infinity,
    minBars: null,
    seriesRows: null,
    ...patch,
  };
}

/** A projection's columns in a fixture slice (`proj:<id>:median|lower|upper`), one value per row. */
export interface FixtureProjection {
  id: string;
  median: (number | null)[];
  lower: (number | null)[];
  upper: (number | null)[];
}

/**
 * A chart slice with projections as the server sends them: `close` `null` marks a row without prices
 * (every price and the volume null), as the future buckets after the last bar are.
 */
export function sliceWithProjections(ts: number[], close: (number | null)[], projections: FixtureProjection[]): Table {
  const tsType = new Timestamp(TimeUnit.MILLISECOND, "UTC");
  const fields = [new Field("ts", tsType, false), ...["open", "high", "low", "close", "volume"].map((name) => new Field(name, new Float64(), true))];
  const column = (values: (number | null)[]) => {
    const data = vectorFromArray(values, new Float64()).data[0];
    if (data === undefined) throw new Error("empty vector");
    return data;
  };
  const children = [
    makeData({ type: tsType, length: ts.length, data: BigInt64Array.from(ts.map(BigInt)) }),
    ...[close, close, close, close, close.map((c) => (c === null ? null : 100))].map(column),
  ];
  for (const p of projections) {
    for (const output of ["median", "lower", "upper"] as const) {
      fields.push(new Field(`proj:${p.id}:${output}`, new Float64(), true));
      children.push(column(p[output]));
    }
  }
  const schema = new Schema(fields);
  const batch = new RecordBatch(schema, makeData({ type: new Struct(fields), length: ts.length, children }));
  return tableFromIPC(tableToIPC(new Table([batch]), "stream"));
}
