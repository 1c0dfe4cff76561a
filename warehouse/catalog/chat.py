"""Chat sessions and their messages (``chat_sessions``, ``chat_messages``), and token use per user."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from schemas.chat import ChatMessage, ChatSession, Citation, ToolCall, Usage
from warehouse.errors import NotFound

_MESSAGE_COLUMNS = (
    "id, session_id, role, content, tool_calls, refs, citations, provider, model, input_tokens,"
    " output_tokens, cost_usd, created_at"
)


def _message(row: dict[str, Any]) -> ChatMessage:
    usage = None
    if row["provider"] is not None:
        usage = Usage(
            provider=row["provider"],
            model=row["model"],
            input_tokens=row["input_tokens"],
            output_tokens=row["output_tokens"],
            cost_usd=row["cost_usd"],
        )
    return msgspec.convert(
        {
            "id": row["id"],
            "session_id": row["session_id"],
            "role": row["role"],
            "content": row["content"],
            "created_at": row["created_at"],
            "tool_calls": row["tool_calls"],
            "references": row["refs"],
            "citations": row["citations"],
            "usage": msgspec.to_builtins(usage) if usage else None,
        },
        ChatMessage,
        strict=False,
    )


class ChatRepository:
    """Rows of ``chat_sessions`` and ``chat_messages``; every read is scoped to the session's owner."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def create_session(self, session_id: str, owner: str, title: str, context: dict[str, Any]) -> None:
        """Record a new session."""
        async with self.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO chat_sessions (id, owner, title, context) VALUES (%s, %s, %s, %s)",
                (session_id, owner, title, Jsonb(context)),
            )

    async def session(self, session_id: str, owner: str) -> ChatSession:
        """One session of ``owner``.

        Raises:
            NotFound: no such session of theirs (another user's is not found either).
        """
        sessions = await self._sessions("WHERE s.id = %s AND s.owner = %s", (session_id, owner))
        if not sessions:
            raise NotFound(f"no chat session {session_id}")
        return sessions[0]

    async def sessions(self, owner: str, limit: int = 100) -> list[ChatSession]:
        """The sessions of ``owner``, most recent first."""
        return await self._sessions("WHERE s.owner = %s", (owner,), limit)

    async def _sessions(self, where: str, params: tuple[Any, ...], limit: int = 100) -> list[ChatSession]:
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                "SELECT s.id AS session_id, s.title, s.created_at, s.updated_at, s.state,"
                " s.always_allowed,"
                " (SELECT count(*) FROM chat_messages m WHERE m.session_id = s.id) AS messages"
                f" FROM chat_sessions s {where} ORDER BY s.updated_at DESC LIMIT %s",
                (*params, limit),
            )
            rows = await cur.fetchall()
        return [msgspec.convert(row, ChatSession, strict=False) for row in rows]

    async def context(self, session_id: str) -> dict[str, Any]:
        """What the session was started with (the chart's symbol and timeframe)."""
        async with self.pool.connection() as conn:
            row = await (
                await conn.execute("SELECT context FROM chat_sessions WHERE id = %s", (session_id,))
            ).fetchone()
        return dict(row[0]) if row else {}

    async def set_state(self, session_id: str, state: str) -> None:
        """Record the state of the session's turn."""
        async with self.pool.connection() as conn:
            await conn.execute(
                "UPDATE chat_sessions SET state = %s, updated_at = now() WHERE id = %s", (state, session_id)
            )

    async def set_job(self, session_id: str, job_id: str) -> None:
        """Record the job running the session's turn."""
        async with self.pool.connection() as conn:
            await conn.execute("UPDATE chat_sessions SET job_id = %s WHERE id = %s", (job_id, session_id))

    async def job(self, session_id: str, owner: str) -> str | None:
        """The job of the session's last turn.

        Raises:
            NotFound: no such session of theirs.
        """
        async with self.pool.connection() as conn:
            row = await (
                await conn.execute(
                    "SELECT job_id FROM chat_sessions WHERE id = %s AND owner = %s", (session_id, owner)
                )
            ).fetchone()
        if row is None:
            raise NotFound(f"no chat session {session_id}")
        return str(row[0]) if row[0] else None

    async def allow_always(self, session_id: str, tool: str) -> None:
        """Run ``tool`` without asking for the rest of the session."""
        async with self.pool.connection() as conn:
            await conn.execute(
                "UPDATE chat_sessions SET always_allowed = always_allowed || %s"
                " WHERE id = %s AND NOT always_allowed ? %s",
                (Jsonb([tool]), session_id, tool),
            )

    async def delete_session(self, session_id: str, owner: str) -> None:
        """Delete a session and its messages.

        Raises:
            NotFound: no such session of theirs.
        """
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "DELETE FROM chat_sessions WHERE id = %s AND owner = %s", (session_id, owner)
            )
            if cur.rowcount == 0:
                raise NotFound(f"no chat session {session_id}")

    async def add_message(
        self,
        session_id: str,
        owner: str,
        role: str,
        content: str,
        *,
        tool_calls: list[ToolCall] | None = None,
        references: list[Any] | None = None,
        citations: list[Citation] | None = None,
        usage: Usage | None = None,
    ) -> ChatMessage:
        """Store a message and answer it as stored."""
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                "INSERT INTO chat_messages (session_id, owner, role, content, tool_calls, refs, citations,"
                " provider, model, input_tokens, output_tokens, cost_usd)"
                f" VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING {_MESSAGE_COLUMNS}",
                (
                    session_id, owner, role, content,
                    Jsonb(msgspec.to_builtins(tool_calls or [])),
                    Jsonb(msgspec.to_builtins(references or [])),
                    Jsonb(msgspec.to_builtins(citations or [])),
                    usage.provider if usage else None, usage.model if usage else None,
                    usage.input_tokens if usage else 0, usage.output_tokens if usage else 0,
                    usage.cost_usd if usage else None,
                ),
            )  # fmt: skip
            row = await cur.fetchone()
            await conn.execute("UPDATE chat_sessions SET updated_at = now() WHERE id = %s", (session_id,))
        assert row is not None
        return _message(row)

    async def update_tool_calls(self, message_id: int, tool_calls: list[ToolCall]) -> None:
        """Replace a message's tool calls (their states and results as they change)."""
        async with self.pool.connection() as conn:
            await conn.execute(
                "UPDATE chat_messages SET tool_calls = %s WHERE id = %s",
                (Jsonb(msgspec.to_builtins(tool_calls)), message_id),
            )

    async def messages(self, session_id: str, owner: str) -> list[ChatMessage]:
        """The messages of a session of ``owner``, oldest first."""
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                f"SELECT {_MESSAGE_COLUMNS} FROM chat_messages"
                " WHERE session_id = %s AND owner = %s ORDER BY id",
                (session_id, owner),
            )
            rows = await cur.fetchall()
        return [_message(row) for row in rows]

    async def tokens_since(self, owner: str, since: dt.datetime) -> int:
        """Model tokens ``owner`` used since ``since``, in chat and in agent tasks."""
        async with self.pool.connection() as conn:
            row = await (
                await conn.execute(
                    "SELECT (SELECT coalesce(sum(input_tokens + output_tokens), 0) FROM chat_messages"
                    "         WHERE owner = %s AND created_at >= %s)"
                    " + (SELECT coalesce(sum(input_tokens + output_tokens), 0) FROM agent_usage"
                    "         WHERE owner = %s AND created_at >= %s)",
                    (owner, since, owner, since),
                )
            ).fetchone()
        return int(row[0]) if row else 0
