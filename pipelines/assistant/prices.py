"""What model tokens cost: US dollars per million input and output tokens, by model name prefix.

Published list prices as of December 2026; a model not listed (e.g. one on a local server) has no
cost (``None``), and is still counted in tokens against the user's budget.
"""

from __future__ import annotations

from typing import Final

PRICES_PER_MILLION: Final[dict[str, tuple[float, float]]] = {
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-5-nano": (0.05, 0.40),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5": (1.25, 10.00),
    "o4-mini": (1.10, 4.40),
    "claude-haiku-4-5": (1.00, 5.00),
    "claude-sonnet-4-5": (3.00, 15.00),
    "claude-sonnet-4": (3.00, 15.00),
    "claude-opus-4-1": (15.00, 75.00),
    "claude-opus-4-5": (5.00, 25.00),
    "claude-3-5-haiku": (0.80, 4.00),
}


def cost_usd(model: str, input_tokens: int, output_tokens: int) -> float | None:
    """The cost of a call, from the longest listed prefix of ``model`` (``None`` when unlisted).

    >>> cost_usd("gpt-4.1-mini-2025-04-14", 1_000_000, 500_000)
    1.2
    >>> cost_usd("llama3.1:8b", 1000, 1000) is None
    True
    """
    matches = [prefix for prefix in PRICES_PER_MILLION if model.startswith(prefix)]
    if not matches:
        return None
    price_in, price_out = PRICES_PER_MILLION[max(matches, key=len)]
    return round((input_tokens * price_in + output_tokens * price_out) / 1_000_000, 6)
