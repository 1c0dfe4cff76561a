"""The strategy language: text → checked program → per-bar signals (docs/strategy-language.md).

:mod:`.syntax` parses (lark, LALR) into frozen nodes, :mod:`.types` checks names, kinds and
catalog parameters, :mod:`.evaluate` computes the rules over bars with NumPy and TA-Lib, and
:mod:`.names` is the whitelist every name is checked against. Nothing of the text is ever run as
Python.
"""

from pipelines.strategies.language.errors import StrategyError
from pipelines.strategies.language.evaluate import (
    IndicatorCache,
    StrategyInputs,
    evaluate,
    evaluate_expression,
    resolve_params,
    warmup_bars,
)
from pipelines.strategies.language.syntax import Expression, Program, parse_expression, parse_program

__all__ = [
    "Expression",
    "IndicatorCache",
    "Program",
    "StrategyError",
    "StrategyInputs",
    "evaluate",
    "evaluate_expression",
    "parse_expression",
    "parse_program",
    "resolve_params",
    "warmup_bars",
]
