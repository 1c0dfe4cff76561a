"""Every name the strategy language knows, and the closest known name to a misspelt one.

Names are of five kinds, in one namespace: price series (``close``), built-in functions
(``crossover``), catalog indicators by their lower-case name (``rsi``, ``svwap``), keywords
(``and``, ``true``) and rule names (``long_entry``). A strategy may assign rule names and names of
its own, never the others. Where a built-in or a price series has a catalog indicator's name, the
language's meaning wins: ``max(a, b)`` is the larger of two values (TA-Lib's rolling ``MAX`` is
``highest``), ``min`` likewise, and ``vwap`` is the session VWAP series (TA-Lib's cumulative
``VWAP`` is not callable).

>>> closest("rsii", callable_names())
'rsi'
>>> indicator_names()["bbands"], "max" in indicator_names()
('BBANDS', False)
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Final

from pipelines.indicators.catalog import talib_names
from pipelines.indicators.own import OWN
from schemas.indicators import MA_TYPES

PRICE_SERIES: Final = ("open", "high", "low", "close", "volume", "vwap", "hl2", "hlc3", "ohlc4")
"""Per-bar prices: the bar's own, the session VWAP, and the averages (high+low)/2, (high+low+close)/3,
(open+high+low+close)/4."""

SIGNAL_RULES: Final = ("long_entry", "long_exit", "short_entry", "short_exit")
"""Rules that are true/false per bar."""
ENTRY_RULES: Final = ("long_entry", "short_entry")
"""A strategy assigns at least one of these."""
PERCENT_RULES: Final = ("stop_loss", "take_profit", "trailing_stop")
"""Rules in percent of the entry fill (a number or a number series)."""
SIZE_RULE: Final = "size"
RULES: Final = (*SIGNAL_RULES, *PERCENT_RULES, SIZE_RULE)

ROLLING: Final = ("highest", "lowest", "mean", "std")
"""Built-ins over the last n bars: ``highest(x, n)`` …"""
CROSSINGS: Final = ("crossover", "crossunder")
ELEMENTWISE: Final = ("abs", "min", "max")
BUILTINS: Final = (*CROSSINGS, *ROLLING, *ELEMENTWISE, "units", "param")
KEYWORDS: Final = ("and", "or", "not", "true", "false")

MA_TYPE_NAMES: Final[Mapping[str, int]] = MappingProxyType(
    {name.lower(): index for index, name in enumerate(MA_TYPES)}
)
"""TA-Lib's moving-average kinds as bare words (``matype=ema``), by ``matype`` value."""

MAX_NAME_CHARS: Final = 64
"""Longest name the language accepts."""


@functools.cache
def indicator_names() -> Mapping[str, str]:
    """Catalog indicators callable by lower-case name, to their catalog name (``rsi`` → ``RSI``)."""
    taken = set(BUILTINS) | set(PRICE_SERIES) | set(KEYWORDS) | set(RULES)
    names = {name.lower(): name for name in (*talib_names(), *OWN)}
    return MappingProxyType({key: names[key] for key in sorted(names) if key not in taken})


def callable_names() -> tuple[str, ...]:
    """Every function a strategy may call: the built-ins and the catalog indicators."""
    return (*BUILTINS, *indicator_names())


def what_is(name: str) -> str | None:
    """What a name the language reserves is (``a price series`` …), or None for a free name."""
    if name in PRICE_SERIES:
        return "a price series"
    if name in BUILTINS:
        return "a built-in function"
    if name in KEYWORDS:
        return "a keyword"
    if name in indicator_names():
        return "an indicator"
    if name.upper() in talib_names():
        return "a TA-Lib function's name"
    return None


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The known name most like ``name`` (difflib's ratio of at least 0.6), or None."""
    if len(name) > MAX_NAME_CHARS:
        return None
    matches = difflib.get_close_matches(name.lower(), list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None
