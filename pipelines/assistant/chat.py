"""Chat turns: the user's message, the model's streamed answer, its tool calls, confirmations, citations.

A turn runs as a job (``chat_turn``): it replays the session to the model, streams the answer as
``chat_response`` events, runs the tool calls it may run at once and stops, awaiting the user, at
a writing tool not yet confirmed. ``confirm`` records the user's answer and queues the turn again,
which runs (or declines) the call and carries on. Everything said and done is stored in Postgres.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import msgspec

from pipelines.assistant import toolbox
from pipelines.assistant.citations import cite
from pipelines.assistant.errors import AssistantUnavailable, TokenBudgetSpent, TurnBusy
from pipelines.assistant.prices import cost_usd
from pipelines.assistant.prompts import chat_system
from pipelines.assistant.tools.base import ToolContext
from pipelines.errors import PipelineClientError
from pipelines.llm import (
    ModelMessage,
    ModelReply,
    ModelToolCall,
    ModelUnavailable,
    Provider,
    TextDelta,
    ToolSpec,
)
from pipelines.publish import EventPublisher
from pipelines.services import Services
from schemas.auth import Role
from schemas.chat import (
    AssistantStatus,
    ChartReference,
    ChatMessage,
    ChatMessageRequest,
    ChatResponse,
    ToolCall,
    ToolConfirmation,
    TurnState,
    Usage,
)
from warehouse.catalog.chat import ChatRepository

MAX_ROUNDS: Final = 8
"""Model calls in one turn (each after a round of tool calls)."""
MAX_OUTPUT_TOKENS: Final = 2_048
MAX_FAILED_CALLS: Final = 3
"""Failed calls of one tool in a turn before it is refused (e.g. a strategy that will not parse)."""
DELTA_INTERVAL_S: Final = 0.05
"""Text deltas are sent at most this often (a burst of tokens goes as one event)."""
NOT_CONFIGURED_HELP: Final = (
    "No AI provider is configured. Set OPENAI_API_KEY (OpenAI; K2Q_OPENAI_MODEL picks the model), or"
    " OPENAI_BASE_URL for any OpenAI-compatible server such as a local model (e.g."
    " http://127.0.0.1:11434/v1), or ANTHROPIC_API_KEY (Anthropic; K2Q_ANTHROPIC_MODEL), then restart"
    " K2 Quant. With both set, K2Q_ASSISTANT_PROVIDER chooses."
)


@dataclass(frozen=True, slots=True)
class TurnOutcome:
    """How a turn ended (the job's line for people)."""

    state: TurnState
    message: str


class Assistant:
    """Chat sessions: start turns, run them (the job), take confirmations, answer history."""

    def __init__(
        self, services: Services, clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
    ) -> None:
        self.provider: Provider | None = services.model.provider
        self.chats: ChatRepository = services.chats
        self.publisher: EventPublisher = services.publisher
        self.daily_tokens = services.model.daily_tokens
        self.clock = clock

    def require_provider(self) -> Provider:
        """The configured provider.

        Raises:
            AssistantUnavailable: none is configured.
        """
        if self.provider is None:
            raise AssistantUnavailable(NOT_CONFIGURED_HELP)
        return self.provider

    async def tokens_today(self, username: str) -> int:
        """Model tokens ``username`` used in the last 24 hours (chat and agent tasks)."""
        return await self.chats.tokens_since(username, self.clock() - dt.timedelta(hours=24))

    async def check_budget(self, username: str) -> None:
        """Refuse when ``username``'s tokens of the last 24 hours are spent.

        Raises:
            TokenBudgetSpent: they are.
        """
        used = await self.tokens_today(username)
        if used >= self.daily_tokens:
            raise TokenBudgetSpent(
                f"your assistant budget of {self.daily_tokens:,} tokens per 24 hours is spent"
                f" ({used:,} used);"
                " an admin can raise K2Q_ASSISTANT_DAILY_TOKENS"
            )

    async def status(self, username: str, role: Role) -> AssistantStatus:
        """Whether a provider is configured, the budget, and the tools of ``role``."""
        provider = self.provider
        return AssistantStatus(
            configured=provider is not None,
            provider=provider.name if provider else None,
            model=provider.model if provider else None,
            help=NOT_CONFIGURED_HELP
            if provider is None
            else f"Connected to {provider.name} ({provider.model}).",
            tokens_used_today=await self.tokens_today(username),
            daily_token_budget=self.daily_tokens,
            tools=toolbox.infos_for(role),
        )

    async def start(self, request: ChatMessageRequest, username: str) -> tuple[str, ChatMessage]:
        """Record the user's message (in a new session unless one is named); answer the session and message.

        Raises:
            AssistantUnavailable: no provider is configured.
            TokenBudgetSpent: the user's budget is spent.
            NotFound: the named session is not theirs or does not exist.
            TurnBusy: the session's turn is still running or awaiting a confirmation.
        """
        self.require_provider()
        await self.check_budget(username)
        if request.session_id is None:
            session_id = uuid.uuid4().hex
            title = " ".join(request.message.split())[:80]
            context = {"symbol": request.symbol, "timeframe": request.timeframe}
            await self.chats.create_session(session_id, username, title, context)
        else:
            session_id = request.session_id
            session = await self.chats.session(session_id, username)
            if session.state in ("running", "awaiting_confirmation"):
                raise TurnBusy(
                    "this session's turn is still running or waits for your confirmation;"
                    " answer it or cancel the turn first"
                )
        await self.chats.set_state(session_id, "running")
        message = await self.chats.add_message(session_id, username, "user", request.message)
        return session_id, message

    async def confirm(self, answer: ToolConfirmation, username: str) -> bool:
        """Record the user's answer to a proposed call; answer whether the turn can go on now.

        Raises:
            NotFound: no such session of theirs.
            PipelineClientError: no such call awaits confirmation.
        """
        session = await self.chats.session(answer.session_id, username)
        messages = await self.chats.messages(session.session_id, username)
        for message in reversed(messages):
            calls = message.tool_calls
            for n, call in enumerate(calls):
                if call.id == answer.tool_call_id:
                    if call.state != "awaiting_confirmation":
                        raise PipelineClientError(
                            f"the call {call.id} does not await confirmation ({call.state})"
                        )
                    calls[n] = msgspec.structs.replace(
                        call, state="approved" if answer.approve else "declined"
                    )
                    await self.chats.update_tool_calls(message.id, calls)
                    if answer.always and answer.approve:
                        await self.chats.allow_always(session.session_id, call.name)
                    await self._publish(session.session_id, username, step="tool_call", tool_call=calls[n])
                    waiting = any(c.state == "awaiting_confirmation" for c in calls)
                    if not waiting:
                        await self.chats.set_state(session.session_id, "running")
                    return not waiting
        raise PipelineClientError(f"no tool call {answer.tool_call_id} in this session")

    async def run_turn(self, session_id: str, username: str, role: Role, ctx: ToolContext) -> TurnOutcome:
        """Run the session's turn until the model answers, a call awaits the user, or a limit is hit."""
        try:
            outcome = await self._turn(session_id, username, role, ctx)
        except (ModelUnavailable, AssistantUnavailable, TokenBudgetSpent) as exc:
            outcome = TurnOutcome("failed", str(exc))
            await self._publish(session_id, username, step="error", state="failed", error=str(exc))
        except BaseException:
            await self.chats.set_state(session_id, "failed")
            await self._publish(
                session_id, username, step="error", state="failed", error="the turn failed; see the log"
            )
            raise
        await self.chats.set_state(session_id, outcome.state)
        if outcome.state != "failed":
            await self._publish(session_id, username, step="done", state=outcome.state)
        return outcome

    async def _turn(self, session_id: str, username: str, role: Role, ctx: ToolContext) -> TurnOutcome:
        provider = self.require_provider()
        session = await self.chats.session(session_id, username)
        confirmed = set(session.always_allowed)
        messages = await self.chats.messages(session_id, username)
        # the calls the user has answered since: run the approved ones, tell the model the declined ones
        turn_calls: list[ToolCall] = []
        last_user = max((i for i, m in enumerate(messages) if m.role == "user"), default=0)
        for message in messages[last_user:]:
            if message.role != "assistant" or not message.tool_calls:
                continue
            changed = False
            for n, call in enumerate(message.tool_calls):
                if call.state == "approved":
                    await self._publish(session_id, username, step="tool_call", tool_call=call)
                    done, _ = await toolbox.execute(call, ctx)
                    message.tool_calls[n] = done
                    changed = True
                    await self._publish(session_id, username, step="tool_call", tool_call=done)
            if changed:
                await self.chats.update_tool_calls(message.id, message.tool_calls)
            turn_calls += message.tool_calls
        user_text = messages[last_user].content if messages else ""
        system = chat_system(username, role, *self._context(await self.chats.context(session_id)))
        specs = toolbox.specs_for(role)
        failures: dict[str, int] = {}
        for _ in range(MAX_ROUNDS):
            if ctx.stop.is_set():
                return TurnOutcome("cancelled", "the turn was cancelled")
            await self.check_budget(username)
            reply = await self._stream(provider, session_id, username, system, _replay(messages), specs, ctx)
            if reply is None:
                return TurnOutcome("cancelled", "the turn was cancelled")
            usage = usage_of(provider, reply)
            if not reply.tool_calls:
                citations = cite(reply.text, turn_calls, user_text)
                references = [r for call in turn_calls for r in call.references]
                stored = await self.chats.add_message(
                    session_id, username, "assistant", reply.text,
                    references=_unique(references), citations=citations, usage=usage,
                )  # fmt: skip
                await self._publish(session_id, username, step="message", message=stored)
                return TurnOutcome("complete", "answered")
            calls = [self._propose(call, role, confirmed, failures) for call in reply.tool_calls]
            stored = await self.chats.add_message(
                session_id, username, "assistant", reply.text, tool_calls=calls, usage=usage
            )
            for n, call in enumerate(calls):
                await self._publish(session_id, username, step="tool_call", tool_call=call)
                if call.state == "approved":
                    done, _ = await toolbox.execute(call, ctx)
                    calls[n] = done
                    if done.state == "failed":
                        failures[done.name] = failures.get(done.name, 0) + 1
                    await self._publish(session_id, username, step="tool_call", tool_call=done)
            await self.chats.update_tool_calls(stored.id, calls)
            stored.tool_calls = calls
            messages.append(stored)
            turn_calls += calls
            if any(call.state == "awaiting_confirmation" for call in calls):
                await self._publish(session_id, username, step="message", message=stored)
                return TurnOutcome("awaiting_confirmation", "waiting for the user to confirm a tool")
        note = f"stopped after {MAX_ROUNDS} rounds of tool calls; ask again to go on"
        references = [r for call in turn_calls for r in call.references]
        stored = await self.chats.add_message(
            session_id, username, "assistant", note, references=_unique(references)
        )
        await self._publish(session_id, username, step="message", message=stored)
        return TurnOutcome("complete", note)

    def _propose(
        self, call: ModelToolCall, role: str, confirmed: set[str], failures: dict[str, int]
    ) -> ToolCall:
        proposal = toolbox.proposed(call, role, confirmed=confirmed)
        if proposal.state == "approved" and failures.get(call.name, 0) >= MAX_FAILED_CALLS:
            return msgspec.structs.replace(
                proposal,
                state="refused",
                error=f"{call.name} failed {MAX_FAILED_CALLS} times in this turn; stop retrying",
            )
        return proposal

    async def _stream(
        self,
        provider: Provider,
        session_id: str,
        username: str,
        system: str,
        messages: list[ModelMessage],
        specs: list[ToolSpec],
        ctx: ToolContext,
    ) -> ModelReply | None:
        pending: list[str] = []
        last = time.monotonic()
        async for event in provider.stream(system, messages, specs, MAX_OUTPUT_TOKENS):
            if ctx.stop.is_set():
                return None
            if isinstance(event, TextDelta):
                pending.append(event.text)
                if time.monotonic() - last >= DELTA_INTERVAL_S:
                    await self._publish(session_id, username, step="delta", text="".join(pending))
                    pending.clear()
                    last = time.monotonic()
            else:
                if pending:
                    await self._publish(session_id, username, step="delta", text="".join(pending))
                return event
        return None

    @staticmethod
    def _context(context: dict[str, object]) -> tuple[str | None, str | None]:
        symbol, timeframe = context.get("symbol"), context.get("timeframe")
        return (
            symbol if isinstance(symbol, str) else None,
            timeframe if isinstance(timeframe, str) else None,
        )

    async def _publish(self, session_id: str, owner: str, **fields: object) -> None:
        await self.publisher.publish(ChatResponse(session_id=session_id, owner=owner, **fields))  # type: ignore[arg-type]


def _replay(messages: list[ChatMessage]) -> list[ModelMessage]:
    """The stored messages as the model sees them: each call followed by its result (as data)."""
    replay: list[ModelMessage] = []
    for message in messages:
        if message.role == "user":
            replay.append(ModelMessage(role="user", content=message.content))
        elif message.role == "assistant":
            calls = tuple(
                ModelToolCall(id=c.id, name=c.name, arguments=c.arguments) for c in message.tool_calls
            )
            replay.append(ModelMessage(role="assistant", content=message.content, tool_calls=calls))
            for call in message.tool_calls:
                replay.append(
                    ModelMessage(
                        role="tool",
                        content=toolbox.result_text(call),
                        tool_call_id=call.id,
                        is_error=call.state != "done",
                    )
                )
    return replay


def usage_of(provider: Provider, reply: ModelReply) -> Usage:
    """The tokens of a reply and their cost."""
    return Usage(
        provider=provider.name,
        model=provider.model,
        input_tokens=reply.input_tokens,
        output_tokens=reply.output_tokens,
        cost_usd=cost_usd(provider.model, reply.input_tokens, reply.output_tokens),
    )


def _unique(references: list[ChartReference]) -> list[ChartReference]:
    seen: set[bytes] = set()
    unique = []
    for reference in references:
        key = msgspec.json.encode(reference)
        if key not in seen:
            seen.add(key)
            unique.append(reference)
    return unique[:50]
