"""OpenAI's Chat Completions through the official SDK: OpenAI itself or any compatible server."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import openai

from pipelines.assistant.providers.assembled import error_message, tool_calls
from pipelines.llm import (
    ModelMessage,
    ModelReply,
    ModelUnavailable,
    TextDelta,
    ToolSpec,
)
from schemas.chat import ProviderName


class OpenAIChat:
    """Streams Chat Completions with tool calls (``stream_options.include_usage`` for the tokens)."""

    name: ProviderName = "openai"

    def __init__(self, model: str, *, api_key: str | None, base_url: str | None, timeout: float) -> None:
        self.model = model
        # a local server takes any key; the SDK refuses to start without one
        self.client = openai.AsyncOpenAI(
            api_key=api_key or "not-needed", base_url=base_url, timeout=timeout, max_retries=2
        )

    async def aclose(self) -> None:
        """Close the SDK's HTTP connections."""
        await self.client.close()

    async def stream(
        self, system: str, messages: list[ModelMessage], tools: list[ToolSpec], max_tokens: int
    ) -> AsyncIterator[TextDelta | ModelReply]:
        """Stream one completion: text deltas, then the reply with its tool calls and usage."""
        kwargs: dict[str, Any] = {}
        if tools:
            kwargs["tools"] = [
                {
                    "type": "function",
                    "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
                }
                for t in tools
            ]
        try:
            request: dict[str, Any] = {
                "model": self.model,
                "messages": wire_messages(system, messages),
                "max_completion_tokens": max_tokens,
                "stream_options": {"include_usage": True},
                **kwargs,
            }
            stream = await self.client.chat.completions.create(stream=True, **request)
            text: list[str] = []
            calls: dict[int, dict[str, str]] = {}
            input_tokens = output_tokens = 0
            stop: str | None = None
            async for chunk in stream:
                if chunk.usage is not None:
                    input_tokens = chunk.usage.prompt_tokens
                    output_tokens = chunk.usage.completion_tokens
                for choice in chunk.choices:
                    delta = choice.delta
                    if delta.content:
                        text.append(delta.content)
                        yield TextDelta(delta.content)
                    for piece in delta.tool_calls or ():
                        call = calls.setdefault(piece.index, {"id": "", "name": "", "arguments": ""})
                        if piece.id:
                            call["id"] = piece.id
                        if piece.function is not None:
                            call["name"] += piece.function.name or ""
                            call["arguments"] += piece.function.arguments or ""
                    if choice.finish_reason:
                        stop = choice.finish_reason
        except openai.APIStatusError as exc:
            raise ModelUnavailable(
                f"OpenAI answered {exc.status_code}: {error_message(exc.body, exc.message)}"
            ) from None
        except openai.APIError as exc:
            raise ModelUnavailable(f"OpenAI could not be reached: {type(exc).__name__}") from None
        parsed, errors = tool_calls((c["id"], c["name"], c["arguments"]) for _, c in sorted(calls.items()))
        yield ModelReply(
            text="".join(text),
            tool_calls=parsed,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            stop_reason=stop,
            raw_arguments_errors=errors,
        )


def wire_messages(system: str, messages: list[ModelMessage]) -> list[dict[str, Any]]:
    """The conversation in Chat Completions form."""
    wire: list[dict[str, Any]] = [{"role": "system", "content": system}]
    for message in messages:
        if message.role == "tool":
            wire.append({"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content})
        elif message.role == "assistant":
            entry: dict[str, Any] = {"role": "assistant", "content": message.content or None}
            if message.tool_calls:
                entry["tool_calls"] = [
                    {
                        "id": call.id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
                    }
                    for call in message.tool_calls
                ]
            wire.append(entry)
        else:
            wire.append({"role": "user", "content": message.content})
    return wire
