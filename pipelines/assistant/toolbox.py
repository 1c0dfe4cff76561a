"""Every tool, and the one place a tool call is checked and run: role, confirmation, arguments, errors."""

from __future__ import annotations

import time
from typing import Any, Final

import msgspec

from pipelines.assistant.tools import agents, data, research
from pipelines.assistant.tools.base import Tool, ToolContext, ToolFailed
from pipelines.errors import PipelineError
from pipelines.llm import ModelToolCall, ToolSpec
from schemas.chat import ChartReference, ToolCall, ToolInfo
from warehouse.errors import WarehouseError

TOOLS: Final[dict[str, Tool[Any]]] = {
    tool.name: tool for tool in [*data.TOOLS, *research.TOOLS, *agents.TOOLS]
}

MAX_RESULT_CHARS: Final = 24_000
"""A tool result longer than this is cut before the model sees it (the stored result is whole)."""


def tools_for(role: str) -> list[Tool[Any]]:
    """The tools ``role`` may use (the only ones the model is offered)."""
    return [tool for tool in TOOLS.values() if tool.allowed(role)]


def specs_for(role: str) -> list[ToolSpec]:
    """What the model is shown for ``role``."""
    return [tool.spec() for tool in tools_for(role)]


def infos_for(role: str) -> list[ToolInfo]:
    """The tools ``role`` may use, for people."""
    return [ToolInfo(name=t.name, description=t.description, writes=t.writes) for t in tools_for(role)]


def proposed(call: ModelToolCall, role: str, *, confirmed: set[str]) -> ToolCall:
    """What becomes of a call the model asks for, before anything runs.

    A tool the role may not use (or that does not exist) is ``refused`` whatever the model says; a
    writing tool not confirmed for the session waits for the user; every other call is ``approved``.
    """
    tool = TOOLS.get(call.name)
    if tool is None:
        return ToolCall(
            id=call.id,
            name=call.name,
            arguments=call.arguments,
            state="refused",
            error=f"there is no tool {call.name!r}",
        )
    if not tool.allowed(role):
        return ToolCall(
            id=call.id,
            name=call.name,
            arguments=call.arguments,
            state="refused",
            writes=tool.writes,
            error=f"{call.name} needs the {tool.role} role; this user is a {role}",
        )
    if tool.writes and call.name not in confirmed:
        return ToolCall(
            id=call.id, name=call.name, arguments=call.arguments, state="awaiting_confirmation", writes=True
        )
    return ToolCall(
        id=call.id, name=call.name, arguments=call.arguments, state="approved", writes=tool.writes
    )


async def execute(call: ToolCall, ctx: ToolContext) -> tuple[ToolCall, list[ChartReference]]:
    """Run an approved call for ``ctx``'s user; answer it done or failed, with its chart references.

    The role is checked again here, so nothing but an allowed tool ever runs.
    """
    tool = TOOLS.get(call.name)
    if tool is None or not tool.allowed(ctx.role):
        return msgspec.structs.replace(call, state="refused", error=f"{call.name} is not allowed"), []
    started = time.perf_counter()
    try:
        args = tool.parse(call.arguments)
        output = await tool.run(ctx, args)
    except (ToolFailed, PipelineError, WarehouseError) as exc:
        return msgspec.structs.replace(call, state="failed", error=str(exc)[:2_000]), []
    except msgspec.ValidationError as exc:
        return msgspec.structs.replace(call, state="failed", error=f"invalid input: {exc}"[:2_000]), []
    elapsed = round((time.perf_counter() - started) * 1000)
    done = msgspec.structs.replace(
        call,
        state="done",
        result=output.result,
        summary=f"{output.summary} ({elapsed} ms)",
        error=None,
        references=list(output.references),
    )
    return done, output.references


def result_text(call: ToolCall) -> str:
    """What the model reads back for a call: its data as JSON, marked as data, or why it did not run."""
    if call.state == "done":
        body = msgspec.json.encode({"tool": call.name, "data": call.result}).decode()
        if len(body) > MAX_RESULT_CHARS:
            body = body[:MAX_RESULT_CHARS] + " … (cut: ask for fewer rows)"
        return body
    if call.state == "declined":
        return msgspec.json.encode({"tool": call.name, "error": "the user declined to run this"}).decode()
    if call.state == "awaiting_confirmation":
        return msgspec.json.encode({"tool": call.name, "error": "waiting for the user to confirm"}).decode()
    return msgspec.json.encode({"tool": call.name, "error": call.error or call.state}).decode()
