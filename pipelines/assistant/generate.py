"""A strategy written by the model from a prompt: parsed, corrected with the parser's errors, saved.

The exchange is kept as a chat session of its own (the prompt, each answer and the parser's
verdict), so it shows in the history and its tokens count against the user's budget.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Final

import msgspec

from pipelines.assistant.chat import Assistant, usage_of
from pipelines.assistant.prompts import generate_system
from pipelines.assistant.tools.base import parameters_schema
from pipelines.errors import PipelineClientError
from pipelines.llm import ModelMessage, ModelReply, ModelToolCall, ModelUnavailable, ToolSpec
from pipelines.services import Services
from pipelines.strategies.catalog import check
from schemas.chat import GeneratedStrategy, GenerateStrategyRequest, ToolCall, Usage
from schemas.strategies import StrategyCheck, StrategyCode, StrategyCreate, StrategyName

MAX_ATTEMPTS: Final = 3


class SubmitStrategy(msgspec.Struct, forbid_unknown_fields=True):
    """Submit the strategy: a short name, one sentence on what it does, and its code."""

    name: StrategyName
    description: Annotated[str, msgspec.Meta(max_length=4_000)]
    code: StrategyCode


SUBMIT: Final = ToolSpec(
    name="submit_strategy",
    description="Submit the strategy (name, description, code in the K2 strategy language).",
    parameters=parameters_schema(SubmitStrategy),
)


class StrategyNotParsed(PipelineClientError):
    """The model's code still did not parse after every attempt (the API answers 422 with the problems)."""


async def generate_strategy(
    assistant: Assistant, services: Services, request: GenerateStrategyRequest, username: str
) -> GeneratedStrategy:
    """Ask the model for a strategy until the parser accepts it (at most 3 answers), then save it.

    Raises:
        AssistantUnavailable: no provider is configured.
        TokenBudgetSpent: the user's budget is spent.
        ModelUnavailable: the provider failed.
        StrategyNotParsed: no answer parsed.
        Conflict: the user already has a strategy of that name.
    """
    provider = assistant.require_provider()
    await assistant.check_budget(username)
    chats = services.chats
    session_id = uuid.uuid4().hex
    await chats.create_session(session_id, username, "Generate: " + " ".join(request.prompt.split())[:70], {})
    await chats.add_message(session_id, username, "user", request.prompt)
    messages = [ModelMessage(role="user", content=request.prompt)]
    problems_seen: list[str] = []
    total = Usage(provider=provider.name, model=provider.model)
    try:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            reply = await _complete(assistant, messages)
            usage = usage_of(provider, reply)
            total.input_tokens += usage.input_tokens
            total.output_tokens += usage.output_tokens
            if usage.cost_usd is not None:
                total.cost_usd = (total.cost_usd or 0.0) + usage.cost_usd
            submitted = next((c for c in reply.tool_calls if c.name == SUBMIT.name), None)
            call_id = submitted.id if submitted else f"answer{attempt}"
            verdict, parsed = _verdict(submitted)
            call = ToolCall(
                id=call_id,
                name=SUBMIT.name,
                arguments=submitted.arguments if submitted else {},
                state="done" if parsed else "failed",
                result={"parsed": True} if parsed else None,
                error=None if parsed else verdict,
            )
            await chats.add_message(
                session_id, username, "assistant", reply.text, tool_calls=[call], usage=usage
            )
            if parsed is not None:
                name = request.name or parsed.name
                strategy = await services.strategies.create(
                    StrategyCreate(name=name, code=parsed.code, description=parsed.description), username
                )
                await chats.set_state(session_id, "complete")
                return GeneratedStrategy(
                    strategy_id=strategy.id,
                    name=strategy.name,
                    code=strategy.code,
                    description=strategy.description,
                    attempts=attempt,
                    problems_seen=problems_seen,
                    usage=total,
                )
            problems_seen.append(verdict)
            messages.append(
                ModelMessage(
                    role="assistant",
                    content=reply.text,
                    tool_calls=(submitted,) if submitted else (),
                )
            )
            feedback = f"The code does not parse: {verdict}. Correct it and call submit_strategy again."
            if submitted:
                messages.append(
                    ModelMessage(role="tool", content=feedback, tool_call_id=submitted.id, is_error=True)
                )
            else:
                messages.append(ModelMessage(role="user", content=feedback))
    except BaseException:
        await chats.set_state(session_id, "failed")
        raise
    await chats.set_state(session_id, "failed")
    raise StrategyNotParsed(
        f"the model's strategy did not parse after {MAX_ATTEMPTS} attempts: {problems_seen[-1]}"
    )


def _verdict(call: ModelToolCall | None) -> tuple[str, SubmitStrategy | None]:
    if call is None:
        return "no submit_strategy call in the answer", None
    try:
        submitted = msgspec.convert(call.arguments, SubmitStrategy)
    except msgspec.ValidationError as exc:
        return f"invalid submission: {exc}", None
    result = check(StrategyCheck(code=submitted.code))
    if not result.ok:
        return "; ".join(f"line {p.line}, column {p.column}: {p.message}" for p in result.problems), None
    return "parsed", submitted


async def _complete(assistant: Assistant, messages: list[ModelMessage]) -> ModelReply:
    provider = assistant.require_provider()
    async for event in provider.stream(generate_system(), messages, [SUBMIT], 2_048):
        if isinstance(event, ModelReply):
            return event
    raise ModelUnavailable("the model's answer ended without a reply")
