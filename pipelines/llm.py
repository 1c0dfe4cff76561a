"""Chat models as every capability sees them: messages, tool specs, streamed replies, the provider.

The providers themselves (OpenAI, Anthropic) live in :mod:`pipelines.assistant.providers`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from schemas.chat import ProviderName


@dataclass(frozen=True, slots=True)
class ModelToolCall:
    """A tool the model asks to call."""

    id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ModelMessage:
    """One message of the conversation as the model sees it."""

    role: Literal["user", "assistant", "tool"]
    content: str
    tool_calls: tuple[ModelToolCall, ...] = ()
    tool_call_id: str | None = None
    """``tool`` messages: the call this is the result of."""
    is_error: bool = False


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool offered to the model: its name, what it does, and its parameters as JSON schema."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True, slots=True)
class TextDelta:
    """More text of the model's answer."""

    text: str


@dataclass(frozen=True, slots=True)
class ModelReply:
    """The model's whole answer to one call: its text, the tools it calls, and the tokens used."""

    text: str
    tool_calls: tuple[ModelToolCall, ...] = ()
    input_tokens: int = 0
    output_tokens: int = 0
    stop_reason: str | None = None
    raw_arguments_errors: list[str] = field(default_factory=list)
    """Tool calls whose arguments were not a JSON object (they are called with ``{}``, and say so)."""


class ModelUnavailable(Exception):
    """The provider refused or could not be reached (its status and message, never the prompt)."""


class Provider(Protocol):
    """A chat model behind one provider's SDK."""

    name: ProviderName
    model: str

    async def aclose(self) -> None:
        """Close the provider's connections."""
        ...

    def stream(
        self, system: str, messages: list[ModelMessage], tools: list[ToolSpec], max_tokens: int
    ) -> AsyncIterator[TextDelta | ModelReply]:
        """Stream the answer: text deltas as they come, then one :class:`ModelReply`."""
        ...


@dataclass(frozen=True, slots=True)
class ModelConfig:
    """The chat model K2 Quant is configured with, and what each user may spend on it."""

    provider: Provider | None
    """``None``: no provider is configured (the assistant explains how to configure one)."""
    daily_tokens: int = 1_000_000
    """Tokens (input + output) each user may use per rolling 24 hours, chat and agents together."""
