"""The assistant's chat: sessions, messages, tool calls, chart references, and the ``chat_response`` event."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import msgspec

from schemas.auth import Role
from schemas.values import Symbol, Timeframe

ChatText = Annotated[str, msgspec.Meta(min_length=1, max_length=8_000)]
"""A user's message: at most 8,000 characters."""
SessionId = Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{32}$")]
ToolName = Annotated[str, msgspec.Meta(pattern=r"^[a-z_]{1,40}$")]

ProviderName = Literal["openai", "anthropic"]
MessageRole = Literal["user", "assistant", "tool"]
ToolCallState = Literal["done", "failed", "refused", "awaiting_confirmation", "approved", "declined"]
"""``done``: ran; ``failed``: ran and raised our error; ``refused``: not allowed for the caller's role
or unknown; ``awaiting_confirmation``: a writing tool waits for the user; ``approved``: the user said yes and
it is about to run; ``declined``: the user said no."""
TurnState = Literal["running", "awaiting_confirmation", "complete", "failed", "cancelled"]


class ChatMessageRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Body of ``POST /api/v1/chat/message``: a user's message, in a new session or an existing one."""

    message: ChatText
    session_id: SessionId | None = None
    """Continue this session (yours); absent: start a new one titled after the message."""
    symbol: Symbol | None = None
    """The symbol on the user's chart, told to the assistant as context."""
    timeframe: Timeframe | None = None


class ChatAccepted(msgspec.Struct, kw_only=True):
    """The answer of ``POST /chat/message``: the turn streams as ``chat_response`` events."""

    session_id: str
    message_id: int
    """The stored user message."""
    job_id: str
    """The turn runs as a job (cancel it with ``POST /api/v1/jobs/{job_id}/cancel``)."""


class ChatTurnJob(msgspec.Struct, frozen=True, kw_only=True):
    """The ``chat_turn`` job: run the session's turn with the tools of ``role``."""

    session_id: str
    role: Role
    symbol: str | None = None
    timeframe: str | None = None


class MarkerReference(
    msgspec.Struct, tag="marker", tag_field="kind", forbid_unknown_fields=True, kw_only=True
):
    """One bar pointed at: a marker on it."""

    symbol: Symbol
    timeframe: Timeframe = "1d"
    ts: int
    """The bar's start, epoch milliseconds UTC."""
    label: Annotated[str, msgspec.Meta(max_length=80)] = ""
    position: Literal["above", "below"] = "above"


class PriceLineReference(
    msgspec.Struct, tag="price_line", tag_field="kind", forbid_unknown_fields=True, kw_only=True
):
    """A price level: a horizontal line across the chart."""

    symbol: Symbol
    timeframe: Timeframe = "1d"
    price: float
    label: Annotated[str, msgspec.Meta(max_length=80)] = ""


class RangeReference(msgspec.Struct, tag="range", tag_field="kind", forbid_unknown_fields=True, kw_only=True):
    """A span of time: a highlighted band the chart zooms to."""

    symbol: Symbol
    timeframe: Timeframe = "1d"
    start: int
    """Epoch milliseconds UTC, inclusive."""
    end: int
    """Epoch milliseconds UTC, inclusive."""
    label: Annotated[str, msgspec.Meta(max_length=80)] = ""


class TradesReference(
    msgspec.Struct, tag="trades", tag_field="kind", forbid_unknown_fields=True, kw_only=True
):
    """A backtest's trades: entry and exit markers (chart-data's ``run_id``)."""

    symbol: Symbol
    timeframe: Timeframe = "1d"
    run_id: Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{32}$")]
    label: Annotated[str, msgspec.Meta(max_length=80)] = ""


class ProjectionReference(
    msgspec.Struct, tag="projection", tag_field="kind", forbid_unknown_fields=True, kw_only=True
):
    """A projection: its median and band past the last bar (chart-data's ``projections``)."""

    symbol: Symbol
    timeframe: Timeframe = "1d"
    projection_id: Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{32}$")]
    label: Annotated[str, msgspec.Meta(max_length=80)] = ""


class IndicatorReference(
    msgspec.Struct, tag="indicator", tag_field="kind", forbid_unknown_fields=True, kw_only=True
):
    """An indicator drawn on the chart (a chart-data indicator spec such as ``rsi(14)``)."""

    symbol: Symbol
    timeframe: Timeframe = "1d"
    spec: Annotated[str, msgspec.Meta(max_length=200)]
    label: Annotated[str, msgspec.Meta(max_length=80)] = ""


ChartReference = (
    MarkerReference
    | PriceLineReference
    | RangeReference
    | TradesReference
    | ProjectionReference
    | IndicatorReference
)
"""What a message points at on the chart (a union tagged by ``kind``)."""


class ToolCall(msgspec.Struct, kw_only=True):
    """A tool the assistant called, with what it returned (or why it did not run)."""

    id: str
    name: str
    arguments: dict[str, Any]
    state: ToolCallState
    writes: bool = False
    """A tool that writes or spends: it runs only once the user confirms."""
    result: Any = None
    """What the tool returned (data, shown to the model as data)."""
    summary: str | None = None
    """One line for people: what the tool did."""
    error: str | None = None
    references: list[ChartReference] = msgspec.field(default_factory=list)
    """What the result points at on the chart (the answer's message carries them all too)."""


class Citation(msgspec.Struct, kw_only=True):
    """A number in an assistant message, and the tool result it came from (``None``: no source)."""

    start: int
    """Offset of the number in ``content`` (characters)."""
    end: int
    text: str
    tool_call_id: str | None
    """The call whose result holds this number; ``None`` marks a number with no source."""


class Usage(msgspec.Struct, kw_only=True):
    """Tokens a model call used and what they cost."""

    provider: ProviderName
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    """From the price table; ``None`` for a model with no known price (e.g. a local server)."""


class ChatMessage(msgspec.Struct, kw_only=True):
    """One stored message of a session."""

    id: int
    session_id: str
    role: MessageRole
    content: str
    created_at: dt.datetime
    tool_calls: list[ToolCall] = msgspec.field(default_factory=list)
    references: list[ChartReference] = msgspec.field(default_factory=list)
    citations: list[Citation] = msgspec.field(default_factory=list)
    usage: Usage | None = None


class ChatSession(msgspec.Struct, kw_only=True):
    """A conversation of one user."""

    session_id: str
    title: str
    created_at: dt.datetime
    updated_at: dt.datetime
    state: TurnState
    """The state of its last turn."""
    messages: int
    always_allowed: list[str] = msgspec.field(default_factory=list)
    """Writing tools the user said not to ask about again in this session."""


class ChatHistory(msgspec.Struct, kw_only=True):
    """``GET /chat/history``: the user's sessions, and the messages of one when ``session_id`` is given."""

    sessions: list[ChatSession]
    messages: list[ChatMessage] = msgspec.field(default_factory=list)
    """The session's messages, oldest first (only with ``session_id``)."""


class ToolConfirmation(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Body of ``POST /chat/confirm``: the user's answer to a proposed writing tool."""

    session_id: SessionId
    tool_call_id: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    approve: bool
    always: bool = False
    """Also run this tool without asking for the rest of the session."""


class ChatResponse(msgspec.Struct, tag="chat_response", tag_field="type", kw_only=True):
    """A step of a chat turn, relayed to the session's owner.

    ``delta``: more text of the assistant's message (``text``); ``tool_call``: a tool started,
    finished, was refused or awaits confirmation (``tool_call``); ``message``: an assistant message
    is complete and stored (``message``, the full text with its references and citations);
    ``done``/``error``: the turn ended (``state``, ``error``).
    """

    session_id: str
    owner: str
    step: Literal["delta", "tool_call", "message", "done", "error"]
    text: str | None = None
    tool_call: ToolCall | None = None
    message: ChatMessage | None = None
    state: TurnState | None = None
    error: str | None = None


class AssistantStatus(msgspec.Struct, kw_only=True):
    """``GET /chat/status``: whether a provider is configured, and how to configure one."""

    configured: bool
    provider: ProviderName | None
    model: str | None
    help: str
    """How to connect a provider (environment variables), shown by the pane."""
    tokens_used_today: int
    daily_token_budget: int
    tools: list[ToolInfo]
    """The tools your role may use, and whether each asks before it runs."""


class ToolInfo(msgspec.Struct, kw_only=True):
    """A tool the assistant may use for you."""

    name: str
    description: str
    writes: bool


class GenerateStrategyRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Body of ``POST /chat/generate-strategy``: a prompt in words, answered with a saved strategy."""

    prompt: ChatText
    name: (
        Annotated[str, msgspec.Meta(min_length=1, max_length=120, pattern=r"^[^\x00-\x1f\x7f]+$")] | None
    ) = None
    """Save under this name (default: the model's)."""
    backtest_symbol: Symbol | None = None
    """Also start its first backtest on this symbol's stored series."""
    backtest_timeframe: Timeframe = "1d"


class GeneratedStrategy(msgspec.Struct, kw_only=True):
    """The answer of ``POST /chat/generate-strategy``."""

    strategy_id: int
    name: str
    code: str
    description: str
    attempts: int
    """Model answers it took to get code the parser accepts (at most 3)."""
    problems_seen: list[str]
    """The parse errors of the rejected attempts, in order."""
    run_id: str | None = None
    job_id: str | None = None
    usage: Usage | None = None
