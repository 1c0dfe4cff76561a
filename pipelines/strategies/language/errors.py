"""What is wrong with strategy text: :class:`StrategyError` and the problems it carries."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pipelines.errors import PipelineClientError
from schemas.strategies import ParseProblem


class StrategyError(PipelineClientError):
    """Strategy text (or a screen expression) that does not parse, check or evaluate.

    ``problems`` locates each problem (1-based line and column; both 0 when the problem is not in
    the text, e.g. a request's parameter override). ``str()`` is the first problem as one line,
    ``line 3, column 14: …``, with how many more there are.
    """

    def __init__(self, problems: Sequence[ParseProblem]) -> None:
        if not problems:
            raise ValueError("a StrategyError needs at least one problem")
        self.problems: list[ParseProblem] = list(problems)
        super().__init__(describe(self.problems))

    def __reduce__(self) -> tuple[type[StrategyError], tuple[list[ParseProblem]]]:
        return StrategyError, (self.problems,)


def describe(problems: Sequence[ParseProblem]) -> str:
    """The first problem as ``line L, column C: message``, and how many more there are."""
    first = problems[0]
    where = f"line {first.line}, column {first.column}: " if first.line > 0 else ""
    more = len(problems) - 1
    tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"{where}{first.message}{tail}"


def failure(
    message: str,
    line: int,
    column: int,
    *,
    expected: Iterable[str] = (),
    suggestion: str | None = None,
) -> StrategyError:
    """A :class:`StrategyError` of one problem (raise it)."""
    return StrategyError(
        [
            ParseProblem(
                message=message, line=line, column=column, expected=list(expected), suggestion=suggestion
            )
        ]
    )
