"""The strategy catalog: text parsed before it is stored, versions, and who may change a strategy."""

from __future__ import annotations

from pipelines.errors import NotYours
from pipelines.strategies.language.errors import StrategyError
from pipelines.strategies.language.syntax import Program, parse_expression, parse_program
from schemas.strategies import (
    Strategy,
    StrategyCheck,
    StrategyCheckResult,
    StrategyCreate,
    StrategyUpdate,
    StrategyVersion,
)
from warehouse.catalog.strategies import StrategyRepository


def check(request: StrategyCheck) -> StrategyCheckResult:
    """Whether strategy text (or a screen expression) parses, with what it declares."""
    try:
        if request.kind == "expression":
            parse_expression(request.code)
            return StrategyCheckResult(ok=True)
        program = parse_program(request.code)
    except StrategyError as exc:
        return StrategyCheckResult(ok=False, problems=exc.problems)
    return StrategyCheckResult(
        ok=True, parameters=program.parameters, rules=program.rules, series=program.series_names
    )


class StrategyCatalog:
    """Create, read, change and delete strategies."""

    def __init__(self, repository: StrategyRepository) -> None:
        self.repository = repository

    async def create(self, request: StrategyCreate, author: str) -> Strategy:
        """Parse and store a new strategy.

        Raises:
            StrategyError: the code does not parse (line, column, what was expected).
            Conflict: ``author`` has a strategy of that name.
        """
        program = parse_program(request.code)
        return await self.repository.create(
            name=request.name.strip(),
            description=request.description,
            code=request.code,
            parameters=program.parameters,
            author=author,
        )

    async def update(
        self, strategy_id: int, request: StrategyUpdate, editor: str, *, admin: bool
    ) -> Strategy:
        """Change a strategy (a new version).

        Raises:
            NotFound: no such strategy.
            NotYours: ``editor`` is neither its author nor an admin.
            StrategyError: the new code does not parse.
        """
        await self._mine(strategy_id, editor, admin=admin)
        program: Program | None = parse_program(request.code) if request.code is not None else None
        return await self.repository.update(
            strategy_id,
            name=request.name.strip() if request.name is not None else None,
            description=request.description,
            code=request.code,
            parameters=program.parameters if program is not None else None,
            author=editor,
        )

    async def delete(self, strategy_id: int, editor: str, *, admin: bool) -> None:
        """Delete a strategy, its versions and its runs.

        Raises:
            NotFound: no such strategy.
            NotYours: ``editor`` is neither its author nor an admin.
        """
        await self._mine(strategy_id, editor, admin=admin)
        await self.repository.delete(strategy_id)

    async def resolve(
        self, ref: int | str, caller: str, version: int | None = None
    ) -> tuple[Strategy, StrategyVersion]:
        """A strategy by id or name (the caller's own first), and the version of its text to run.

        Raises:
            NotFound: no such strategy or version.
        """
        strategy = await (
            self.repository.get(ref) if isinstance(ref, int) else self.repository.by_name(ref, caller)
        )
        text = await self.repository.version(strategy.id, version or strategy.version)
        return strategy, text

    async def _mine(self, strategy_id: int, editor: str, *, admin: bool) -> Strategy:
        strategy = await self.repository.get(strategy_id)
        if not admin and strategy.author != editor:
            raise NotYours(
                f"strategy {strategy_id} is {strategy.author}'s: only they or an admin may change it"
            )
        return strategy
