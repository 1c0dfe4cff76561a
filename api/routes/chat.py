"""``/api/v1/chat``: the assistant — messages streamed as ``chat_response`` events, history, confirmations."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post
from litestar.params import JSONBody, PathParameter, QueryParameter
from litestar.status_codes import HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from api.auth.guards import role
from api.auth.principal import principal_of
from api.deps import RuntimeDep, ServicesDep
from api.runtime import Runtime
from pipelines.assistant.chat import Assistant
from pipelines.assistant.generate import generate_strategy
from pipelines.jobs.kinds import JobKind
from pipelines.jobs.queue import enqueue
from pipelines.jobs.runner import cancel_job
from pipelines.jobs.submit import record
from schemas.chat import (
    AssistantStatus,
    ChatAccepted,
    ChatHistory,
    ChatMessageRequest,
    ChatTurnJob,
    GeneratedStrategy,
    GenerateStrategyRequest,
    ToolConfirmation,
)
from schemas.jobs import JobStatus

SessionPath = Annotated[str, PathParameter(pattern=r"^[0-9a-f]{32}$", description="Chat session id")]
SessionQuery = Annotated[str | None, QueryParameter(pattern=r"^[0-9a-f]{32}$", description="Chat session id")]


async def _queue_turn(runtime: Runtime, job: ChatTurnJob, owner: str) -> str:
    job_id = await record(runtime.services.jobs, JobKind.CHAT_TURN, job, owner)
    await runtime.services.chats.set_job(job.session_id, job_id)
    await enqueue(runtime.queue, JobKind.CHAT_TURN, job_id, job, owner)
    return job_id


class ChatController(Controller):
    """The assistant's chat: it works through tools with your role; writing tools ask first."""

    path = "/api/v1/chat"
    tags = ["chat"]

    @get("/status", operation_id="assistantStatus", opt=role("viewer"))
    async def status(self, services: ServicesDep, request: Request[Any, Any, Any]) -> AssistantStatus:
        """Whether a model provider is configured (and how to configure one), your tokens, your tools."""
        principal = principal_of(request)
        return await Assistant(services).status(principal.username, principal.role)

    @post("/message", operation_id="chatMessage", status_code=HTTP_202_ACCEPTED, opt=role("viewer"))
    async def message(
        self, data: JSONBody[ChatMessageRequest], runtime: RuntimeDep, request: Request[Any, Any, Any]
    ) -> ChatAccepted:
        """Send a message; the answer streams as ``chat_response`` events on the WebSocket.

        503 when no model provider is configured (the detail says how to configure one); 429 when
        your tokens for the last 24 hours are spent; 409 while the session's turn still runs or waits
        for a confirmation.
        """
        principal = principal_of(request)
        session_id, stored = await Assistant(runtime.services).start(data, principal.username)
        context = await runtime.services.chats.context(session_id)
        job = ChatTurnJob(
            session_id=session_id,
            role=principal.role,
            symbol=context.get("symbol") or data.symbol,
            timeframe=context.get("timeframe") or data.timeframe,
        )
        job_id = await _queue_turn(runtime, job, principal.username)
        return ChatAccepted(session_id=session_id, message_id=stored.id, job_id=job_id)

    @post("/confirm", operation_id="chatConfirm", status_code=HTTP_202_ACCEPTED, opt=role("viewer"))
    async def confirm(
        self, data: JSONBody[ToolConfirmation], runtime: RuntimeDep, request: Request[Any, Any, Any]
    ) -> ChatAccepted:
        """Run (``approve``) or decline a tool the assistant proposed; the turn then goes on.

        With ``always``, the tool runs without asking for the rest of the session.
        """
        principal = principal_of(request)
        assistant = Assistant(runtime.services)
        go_on = await assistant.confirm(data, principal.username)
        job_id = await runtime.services.chats.job(data.session_id, principal.username) or ""
        if go_on:
            assistant.require_provider()
            job = ChatTurnJob(session_id=data.session_id, role=principal.role)
            job_id = await _queue_turn(runtime, job, principal.username)
        messages = await runtime.services.chats.messages(data.session_id, principal.username)
        return ChatAccepted(
            session_id=data.session_id, message_id=messages[-1].id if messages else 0, job_id=job_id
        )

    @post(
        "/cancel/{session_id:str}",
        operation_id="chatCancel",
        status_code=HTTP_202_ACCEPTED,
        opt=role("viewer"),
    )
    async def cancel(
        self, session_id: SessionPath, services: ServicesDep, request: Request[Any, Any, Any]
    ) -> JobStatus | None:
        """Stop the session's running turn (what it stored so far is kept); ``null`` when none runs."""
        principal = principal_of(request)
        job_id = await services.chats.job(session_id, principal.username)
        if job_id is None:
            return None
        status = await cancel_job(services, job_id, principal.username, admin=False)
        await services.chats.set_state(session_id, "cancelled")
        return status

    @get("/history", operation_id="chatHistory", opt=role("viewer"))
    async def history(
        self, services: ServicesDep, request: Request[Any, Any, Any], session_id: SessionQuery = None
    ) -> ChatHistory:
        """Your sessions, most recent first; with ``session_id``, that session's messages oldest first.

        Each message has its role, content, tool calls with their results, chart references,
        citations and usage.
        """
        principal = principal_of(request)
        if session_id:
            await services.chats.session(session_id, principal.username)
        sessions = await services.chats.sessions(principal.username)
        messages = await services.chats.messages(session_id, principal.username) if session_id else []
        return ChatHistory(sessions=sessions, messages=messages)

    @delete(
        "/sessions/{session_id:str}",
        operation_id="deleteChatSession",
        status_code=HTTP_204_NO_CONTENT,
        opt=role("viewer"),
    )
    async def delete_session(
        self, session_id: SessionPath, services: ServicesDep, request: Request[Any, Any, Any]
    ) -> None:
        """Delete one of your sessions and its messages."""
        await services.chats.delete_session(session_id, principal_of(request).username)

    @post("/generate-strategy", operation_id="generateStrategy", status_code=201, opt=role("analyst"))
    async def generate(
        self, data: JSONBody[GenerateStrategyRequest], runtime: RuntimeDep, request: Request[Any, Any, Any]
    ) -> GeneratedStrategy:
        """A strategy written by the model from your prompt, checked by the parser and saved.

        The parser's errors go back to the model, which corrects its code (at most 3 answers);
        code that still does not parse is a 422 with the problems. With ``backtest_symbol`` its
        first backtest is queued too (``run_id``, ``job_id``).
        """
        principal = principal_of(request)
        services = runtime.services
        generated = await generate_strategy(Assistant(services), services, data, principal.username)
        if data.backtest_symbol:
            from api.routes.strategies import start_run
            from schemas.strategies import BacktestRequest

            accepted = await start_run(
                runtime,
                BacktestRequest(
                    strategy=generated.strategy_id,
                    symbol=data.backtest_symbol,
                    timeframe=data.backtest_timeframe,
                ),
                principal.username,
            )
            generated.run_id, generated.job_id = accepted.run_id, accepted.job_id
        return generated
