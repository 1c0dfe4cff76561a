"""What a tool is, what it is given, and what it answers.

A tool declares the least role that may use it and whether it writes or spends (then it runs only
once the user confirms). Its arguments are a msgspec Struct: the model's arguments are validated
by msgspec before the tool runs, and its JSON schema is what the model is shown.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import msgspec

from pipelines.llm import ToolSpec
from pipelines.services import Services
from schemas.auth import Role
from schemas.chat import ChartReference

ArgsT = TypeVar("ArgsT", bound=msgspec.Struct)

ROLE_RANK: dict[str, int] = {"viewer": 0, "analyst": 1, "admin": 2}


class ToolFailed(Exception):
    """A tool could not do what it was asked; the message goes back to the model (and the user)."""


@dataclass(frozen=True, slots=True)
class RanJob:
    """A job a tool started and waited for."""

    job_id: str
    state: str
    message: str | None = None
    error: str | None = None


class JobRunner(Protocol):
    """Jobs a tool starts for the caller, run to their end within the turn (given by the job layer)."""

    async def record(self, kind: str, request: msgspec.Struct) -> str:
        """Record a job of ``kind`` (a job kind's value) for the caller; answer its id."""
        ...

    async def run(self, kind: str, job_id: str, request: msgspec.Struct) -> RanJob:
        """Run a recorded job to its end (progress and events as for any job)."""
        ...


@dataclass(frozen=True, slots=True)
class ToolContext:
    """Who a tool acts for and what it acts through."""

    services: Services
    username: str
    role: Role
    jobs: JobRunner
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    symbol: str | None = None
    """The symbol on the user's chart, when the turn was started from one."""
    timeframe: str | None = None


@dataclass(frozen=True, slots=True)
class ToolOutput:
    """What a tool found: data for the model, one line for people, and what to show on the chart."""

    result: Any
    summary: str
    references: list[ChartReference] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Tool(Generic[ArgsT]):
    """One tool the assistant may call."""

    name: str
    description: str
    args: type[ArgsT]
    run: Callable[[ToolContext, ArgsT], Awaitable[ToolOutput]]
    role: Role = "viewer"
    """The least role that may use it: the tool is neither offered to nor run for anyone below."""
    writes: bool = False
    """It writes or spends: proposed to the user, run only once they confirm."""

    def allowed(self, role: str) -> bool:
        """Whether ``role`` may use this tool."""
        return ROLE_RANK.get(role, -1) >= ROLE_RANK[self.role]

    def spec(self) -> ToolSpec:
        """What the model is shown: name, description and the arguments' JSON schema."""
        return ToolSpec(name=self.name, description=self.description, parameters=parameters_schema(self.args))

    def parse(self, arguments: dict[str, Any]) -> ArgsT:
        """The model's arguments, validated.

        Raises:
            ToolFailed: they do not fit the tool (the message says how).
        """
        try:
            return msgspec.convert(arguments, self.args, strict=False)
        except msgspec.ValidationError as exc:
            raise ToolFailed(f"invalid arguments: {exc}") from None


def parameters_schema(args: type[msgspec.Struct]) -> dict[str, Any]:
    """The JSON schema of a Struct as one object schema (shared definitions kept under ``$defs``)."""
    schema = msgspec.json.schema(args)
    defs: dict[str, Any] = dict(schema.get("$defs", {}))
    name = schema["$ref"].rsplit("/", 1)[-1]
    root = dict(defs.pop(name))
    root.pop("title", None)
    if defs:
        root["$defs"] = defs
    return root
