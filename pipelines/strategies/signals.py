"""The ``Signals`` of a strategy: what the language computes per bar and the backtest engine reads."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True, slots=True)
class Signals:
    """A strategy's rules evaluated over ``n`` bars: the contract between the language and the engine."""

    long_entry: NDArray[np.bool_]
    """Length ``n``, False where not given (as are the other three)."""
    long_exit: NDArray[np.bool_]
    short_entry: NDArray[np.bool_]
    short_exit: NDArray[np.bool_]
    stop_loss: NDArray[np.float64]
    """Percent, NaN = none (as are ``take_profit`` and ``trailing_stop``)."""
    take_profit: NDArray[np.float64]
    trailing_stop: NDArray[np.float64]
    size: NDArray[np.float64]
    """Fraction of equity in (0, 1], or units when ``size_in_units``; NaN = default."""
    size_in_units: bool
    series: dict[str, NDArray[np.float64]]
    """Every named series the program assigned (booleans as 0/1)."""
