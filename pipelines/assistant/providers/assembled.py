"""What both providers do with a streamed answer: tool calls from their JSON text, and error bodies."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from pipelines.llm import ModelToolCall


def tool_calls(pieces: Iterable[tuple[str, str, str]]) -> tuple[tuple[ModelToolCall, ...], list[str]]:
    """Tool calls from ``(id, name, arguments as JSON text)``, and the ids of malformed arguments.

    A call whose arguments are not a JSON object is called with ``{}`` (and fails its validation
    in words).
    """
    calls: list[ModelToolCall] = []
    malformed: list[str] = []
    for n, (call_id, name, text) in enumerate(pieces):
        try:
            arguments = json.loads(text or "{}")
        except json.JSONDecodeError:
            arguments = None
        if not isinstance(arguments, dict):
            malformed.append(call_id)
            arguments = {}
        calls.append(ModelToolCall(id=call_id or f"call_{n}", name=name, arguments=arguments))
    return tuple(calls), malformed


def error_message(body: Any, fallback: str) -> str:
    """The provider's own words from an error body (``{"error": {"message": …}}``), at most 300 characters."""
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])[:300]
    return fallback[:300]
