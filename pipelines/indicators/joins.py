"""The ``ind:`` joiner: stored indicator outputs joined to a chart slice's buckets.

It plugs into the slice join seam, :mod:`pipelines.charts.joins`. Each output becomes a column
``ind:<spec>:<output>``. Values come from the outputs stored over the whole series at the slice's
bucket width (:mod:`pipelines.indicators.outputs`), computed and stored first when missing or
extended when bars arrived since: so a bucket's value is the same in every window that shows it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pyarrow as pa

from pipelines.charts.joins import Column, FutureRows, JoinContext
from pipelines.indicators.outputs import IndicatorOutputs, OutputState
from pipelines.indicators.specs import COLUMN_PREFIX, IndicatorSpec, parse_indicator
from schemas.bars import ChartDataRequest
from warehouse.clickhouse.slice_search import Slice


def column_metadata(spec: IndicatorSpec, output: str, plot: str, state: OutputState | None) -> dict[str, str]:
    """The Arrow field metadata of one output column: what it is, how to draw it, where it is stable."""
    return {
        "k2q.indicator": spec.text,
        "k2q.output": output,
        "k2q.function": spec.function,
        "k2q.display_name": spec.display_name,
        "k2q.label": spec.label,
        "k2q.overlay": "true" if spec.overlay else "false",
        "k2q.pane": spec.pane,
        "k2q.plot": plot,
        "k2q.levels": json.dumps(list(spec.levels)),
        "k2q.stable_from": "" if state is None or state.stable_from is None else str(state.stable_from),
        "k2q.min_bars": str(spec.lookback + 1),
        "k2q.series_rows": str(state.rows if state is not None else 0),
    }


@dataclass(frozen=True, slots=True)
class IndicatorJoin:
    """The indicators one chart request asks for, parsed (each spec once)."""

    specs: tuple[IndicatorSpec, ...]
    outputs: IndicatorOutputs

    async def columns(self, bars: Slice, context: JoinContext) -> Sequence[Column]:
        """A column per output of every spec, read from its stored outputs at the slice's width."""
        table = bars.table
        slice_ts = table.column("ts").cast(pa.int64()).to_numpy()
        states: list[OutputState | None] = [None] * len(self.specs)
        if table.num_rows:
            query = context.query
            states = list(await self.outputs.current(query.ref, bars.bucket, query.session, self.specs))
        columns: list[Column] = []
        for spec, state in zip(self.specs, states, strict=True):
            if state is None:
                stored_ts: np.ndarray[Any, Any] = np.empty(0, np.int64)
                values = [np.empty(0, np.float64) for _ in spec.outputs]
            else:
                stored_ts, values = await self.outputs.read(state, int(slice_ts[0]), int(slice_ts[-1]))
            positions = np.minimum(np.searchsorted(stored_ts, slice_ts), max(len(stored_ts) - 1, 0))
            found = stored_ts[positions] == slice_ts if len(stored_ts) else np.zeros(len(slice_ts), bool)
            for output, plot, stored in zip(spec.outputs, spec.plots, values, strict=True):
                joined = (
                    np.where(found, stored[positions], np.nan)
                    if len(stored)
                    else np.full(len(slice_ts), np.nan)
                )
                field = pa.field(
                    spec.column(output), pa.float64(), metadata=column_metadata(spec, output, plot, state)
                )
                columns.append((field, pa.array(joined, pa.float64(), from_pandas=True)))
        return columns

    async def future(self, bars: Slice, context: JoinContext) -> FutureRows | None:
        """Indicators add no rows after the last bar."""
        return None


class IndicatorJoiner:
    """Joins ``ind:`` columns: the request's ``indicators``."""

    prefix: Final = COLUMN_PREFIX

    def __init__(self, outputs: IndicatorOutputs) -> None:
        self.outputs = outputs

    def plan(self, request: ChartDataRequest) -> IndicatorJoin | None:
        """The indicators ``request`` asks for, or None.

        Raises:
            InvalidIndicator: a spec is malformed.
        """
        if not request.indicators:
            return None
        specs = tuple({spec.text: spec for spec in map(parse_indicator, request.indicators)}.values())
        return IndicatorJoin(specs=specs, outputs=self.outputs)
