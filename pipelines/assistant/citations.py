"""Which tool result each number in an assistant message came from; a number with none is marked so.

A number in the text is sourced by a tool result (or a tool's arguments) of the same turn that
holds a value equal to it at the precision written: ``12.35`` matches 12.3456, ``12%`` matches 12.2
(a percentage) or 0.1204 (a fraction), ``1,234`` matches 1234. Dates, times, ordinals of lists,
numbers inside code and numbers the user wrote themselves are not data claims and are skipped.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any, Final

from schemas.chat import Citation, ToolCall

_NUMBER: Final = re.compile(
    r"(?<![\w.:/-])(?P<sign>[-−])?\$?(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?P<pct>\s?%)?(?![\w:/-]|\.\d)"
)
_CODE: Final = re.compile(r"```.*?```|`[^`\n]*`", re.S)
_LIST_MARKER: Final = re.compile(r"^\s*\d+[.)]\s", re.M)
_DATE_LIKE: Final = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}:\d{2}")


def _numbers(value: Any) -> Iterator[float]:
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            return
        yield float(value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _numbers(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _numbers(item)


def _matches(written: float, decimals: int, percent: bool, value: float) -> bool:
    candidates = [value, abs(value)]
    if percent:
        candidates += [value * 100, abs(value) * 100]
    tolerance = 0.5 * 10**-decimals + 1e-9
    return any(abs(candidate - written) <= tolerance for candidate in candidates)


def cite(content: str, calls: list[ToolCall], user_text: str = "") -> list[Citation]:
    """The numbers of ``content`` with the call each came from (``None``: no source)."""
    skipped: list[tuple[int, int]] = [m.span() for m in _CODE.finditer(content)]
    skipped += [m.span() for m in _LIST_MARKER.finditer(content)]
    skipped += [m.span() for m in _DATE_LIKE.finditer(content)]
    user_numbers = {m.group("num").replace(",", "") for m in _NUMBER.finditer(user_text)}
    sources = [
        (call.id, [*_numbers(call.result), *_numbers(call.arguments)])
        for call in reversed(calls)
        if call.state == "done"
    ]
    citations: list[Citation] = []
    for match in _NUMBER.finditer(content):
        start, end = match.span()
        if any(a <= start < b for a, b in skipped):
            continue
        raw = match.group("num").replace(",", "")
        if raw in user_numbers:
            continue
        written = float(raw)
        decimals = len(raw.split(".")[1]) if "." in raw else 0
        percent = match.group("pct") is not None
        source = next(
            (
                call_id
                for call_id, values in sources
                if any(_matches(written, decimals, percent, v) for v in values)
            ),
            None,
        )
        citations.append(Citation(start=start, end=end, text=match.group(0), tool_call_id=source))
    return citations
