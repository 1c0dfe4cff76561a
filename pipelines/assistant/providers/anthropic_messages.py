"""Anthropic's Messages API through the official SDK."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anthropic
from anthropic.types import (
    InputJSONDelta,
    RawContentBlockDeltaEvent,
    RawContentBlockStartEvent,
    RawMessageDeltaEvent,
    RawMessageStartEvent,
    ToolUseBlock,
)
from anthropic.types import TextDelta as TextDelta_

from pipelines.assistant.providers.assembled import error_message, tool_calls
from pipelines.llm import (
    ModelMessage,
    ModelReply,
    ModelUnavailable,
    TextDelta,
    ToolSpec,
)
from schemas.chat import ProviderName


class AnthropicMessages:
    """Streams Messages with tool use (raw server-sent events, assembled here)."""

    name: ProviderName = "anthropic"

    def __init__(self, model: str, *, api_key: str | None, base_url: str | None, timeout: float) -> None:
        self.model = model
        self.client = anthropic.AsyncAnthropic(
            api_key=api_key, base_url=base_url, timeout=timeout, max_retries=2
        )

    async def aclose(self) -> None:
        """Close the SDK's HTTP connections."""
        await self.client.close()

    async def stream(
        self, system: str, messages: list[ModelMessage], tools: list[ToolSpec], max_tokens: int
    ) -> AsyncIterator[TextDelta | ModelReply]:
        """Stream one message: text deltas, then the reply with its tool uses and usage."""
        kwargs: dict[str, Any] = {}
        if tools:
            kwargs["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.parameters} for t in tools
            ]
        text: list[str] = []
        blocks: dict[int, dict[str, str]] = {}
        input_tokens = output_tokens = 0
        stop: str | None = None
        try:
            request: dict[str, Any] = {
                "model": self.model,
                "system": system,
                "messages": wire_messages(messages),
                "max_tokens": max_tokens,
                **kwargs,
            }
            stream = await self.client.messages.create(stream=True, **request)
            async for event in stream:
                if isinstance(event, RawMessageStartEvent):
                    input_tokens = event.message.usage.input_tokens
                    output_tokens = event.message.usage.output_tokens
                elif isinstance(event, RawContentBlockStartEvent) and isinstance(
                    event.content_block, ToolUseBlock
                ):
                    use = event.content_block
                    blocks[event.index] = {"id": use.id, "name": use.name, "json": ""}
                elif isinstance(event, RawContentBlockDeltaEvent):
                    if isinstance(event.delta, TextDelta_):
                        text.append(event.delta.text)
                        yield TextDelta(event.delta.text)
                    elif isinstance(event.delta, InputJSONDelta) and event.index in blocks:
                        blocks[event.index]["json"] += event.delta.partial_json
                elif isinstance(event, RawMessageDeltaEvent):
                    output_tokens = event.usage.output_tokens
                    stop = event.delta.stop_reason
        except anthropic.APIStatusError as exc:
            raise ModelUnavailable(
                f"Anthropic answered {exc.status_code}: {error_message(exc.body, exc.message)}"
            ) from None
        except anthropic.APIError as exc:
            raise ModelUnavailable(f"Anthropic could not be reached: {type(exc).__name__}") from None
        calls, errors = tool_calls((b["id"], b["name"], b["json"]) for _, b in sorted(blocks.items()))
        yield ModelReply(
            text="".join(text),
            tool_calls=calls,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            stop_reason=stop,
            raw_arguments_errors=errors,
        )


def wire_messages(messages: list[ModelMessage]) -> list[dict[str, Any]]:
    """The conversation in Messages form.

    Tool results go back as ``tool_result`` blocks of a user turn, and consecutive turns of one
    role are merged (the API wants them alternating).
    """
    wire: list[dict[str, Any]] = []
    for message in messages:
        blocks: list[dict[str, Any]]
        if message.role == "tool":
            role = "user"
            blocks = [
                {
                    "type": "tool_result",
                    "tool_use_id": message.tool_call_id,
                    "content": message.content,
                    **({"is_error": True} if message.is_error else {}),
                }
            ]
        elif message.role == "assistant":
            role = "assistant"
            blocks = [{"type": "text", "text": message.content}] if message.content else []
            blocks += [
                {"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments}
                for call in message.tool_calls
            ]
            if not blocks:
                continue
        else:
            role = "user"
            blocks = [{"type": "text", "text": message.content}]
        if wire and wire[-1]["role"] == role:
            wire[-1]["content"].extend(blocks)
        else:
            wire.append({"role": role, "content": blocks})
    return wire
