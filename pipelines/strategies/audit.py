"""The look-ahead audit: a strategy replayed on truncated prefixes of its data must not change its past.

A value computed on bar ``i``'s close may read bars up to ``i`` only. Evaluated over the first
``cut`` bars, every value before ``cut`` must then equal the value computed over all bars; a value
that moves read bars after it. The language admits a negative lag (``close[-1]``, the next bar's
close) on purpose, so that such a strategy runs and is flagged rather than silently trusted.

Not only the rules are compared but every per-bar value the strategy computes on the way (the
evaluation's trace), over the :data:`WINDOW` bars before each cut: a rule such as
``crossover(close[-1], sma(close, 20))`` may happen to be false at a cut's last bar either way,
but ``close[-1]`` itself is NaN there in the prefix and a price over the whole data, so one
replay finds it with certainty, however far ahead the read.

Indicators are causal (TA-Lib's and ours), so a clean strategy's prefix values equal its
whole-series values exactly, bit for bit: the comparison needs no tolerance.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pipelines.strategies.backtest import head
from pipelines.strategies.language.evaluate import StrategyInputs, Trace, evaluate
from pipelines.strategies.language.syntax import Program
from schemas.strategies import LookAheadAudit

CUT_FRACTIONS = (0.25, 0.5)
"""Where the prefixes end, as fractions of the bars: two replays cost three quarters of an evaluation."""
WINDOW = 2_000
"""Bars compared before each cut. A read of a later bar moves the bar just before the cut whatever
its distance, so every peek is caught; the first bar that moved is exact for peeks up to this far."""


def cut_points(bars: int) -> list[int]:
    """The prefix lengths replayed for ``bars`` bars (none for fewer than 10)."""
    if bars < 10:
        return []
    return sorted({max(2, min(bars - 1, round(bars * fraction))) for fraction in CUT_FRACTIONS})


def trace_for(bars: int) -> Trace:
    """The trace a whole-data evaluation keeps for the audit of ``bars`` bars."""
    return Trace(cut_points(bars), WINDOW)


def _first_difference(whole: NDArray[Any], prefix: NDArray[Any]) -> int | None:
    """The first index where two arrays of one length differ (NaN equals NaN), or None."""
    if whole.dtype == np.bool_ or prefix.dtype == np.bool_:
        differ = whole != prefix
    else:
        differ = ~((whole == prefix) | (np.isnan(whole) & np.isnan(prefix)))
    hits = np.flatnonzero(differ)
    return int(hits[0]) if hits.size else None


def audit(
    program: Program, inputs: StrategyInputs, params: Mapping[str, float], trace: Trace
) -> LookAheadAudit:
    """Replay ``program`` on prefixes of ``inputs``; flag it when a value of ``trace`` moved.

    ``trace`` is the whole-data evaluation's (``evaluate(..., trace=trace_for(len(bars)))``).
    """
    first: tuple[int, str] | None = None
    for slot, cut in enumerate(trace.cuts):
        replay = Trace([cut], trace.window)
        prefix = StrategyInputs(bars=head(inputs.bars, cut), context=inputs.context)
        evaluate(program, prefix, params, trace=replay)
        for where, (values,) in replay.values.items():
            whole = trace.values.get(where)
            index = None if whole is None else _first_difference(whole[slot], values)
            if index is not None and (first is None or trace.start(cut) + index < first[0]):
                first = (trace.start(cut) + index, where)
    cuts = list(trace.cuts)
    if first is None:
        return LookAheadAudit(uses_future_data=False, cut_points=cuts)
    index, where = first
    return LookAheadAudit(
        uses_future_data=True,
        cut_points=cuts,
        first_offending_bar=index,
        first_offending_time=dt.datetime.fromtimestamp(int(inputs.bars.ts[index]) / 1000, tz=dt.UTC),
        rule=where,
    )
