"""Loopback LLM servers: the OpenAI Chat Completions and Anthropic Messages wire formats on 127.0.0.1.

For tests of real client code: point the official ``openai`` / ``anthropic`` SDK (or anything else
speaking these formats) at :attr:`LlmLoopback.base_url` and script the conversation.

Each request to the endpoint (``POST /v1/chat/completions`` or ``POST /v1/messages``) is recorded
(:attr:`LlmLoopback.requests` holds the decoded JSON bodies, :attr:`LlmLoopback.headers` their
headers, lower-cased) and, once its key and required fields check out, pops the next scripted
:class:`Reply` (or calls the next :data:`Responder` with the body). The request's ``stream`` field
picks the answer: server-sent events as the provider streams them, or one JSON object. A reply
with a ``status`` other than 200 is answered with the provider's error JSON. When the script is
empty the server answers 500 with ``x-should-retry: false`` and a body saying "no scripted reply",
so a test fails at once and clearly (an SDK with retries does not retry it).

Example:
    >>> with OpenAILoopback(api_key="k") as llm:  # doctest: +SKIP
    ...     llm.script(Reply("Hello there"), Reply(tool_calls=(ToolUse("quote", {"symbol": "AAPL"}),)))
    ...     client = openai.AsyncOpenAI(base_url=llm.base_url, api_key="k", max_retries=0)

A module-scoped server shared by a test module, emptied before each test::

    @pytest.fixture(scope="module")
    def llm_server() -> Iterator[AnthropicLoopback]:
        with AnthropicLoopback(api_key=KEY) as server:
            yield server

    @pytest.fixture
    def llm(llm_server: AnthropicLoopback) -> AnthropicLoopback:
        llm_server.reset()
        return llm_server
"""

from __future__ import annotations

import asyncio
import collections
import json
import secrets
import socket
import string
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import uvicorn

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Headers = list[tuple[str, str]]

_ALNUM = string.ascii_letters + string.digits
_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
TEXT_PIECE = 4  # characters per streamed text piece
JSON_PIECE = 7  # characters per streamed piece of tool-call arguments (odd: splits inside tokens)
NO_SCRIPT = "loopback: no scripted reply for this request"


def _token(alphabet: str, size: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(size))


def _json(payload: Any) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def _split(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


@dataclass(frozen=True)
class ToolUse:
    """One tool call of a reply; ``id`` is generated (``call_…`` / ``toolu_…``) when ``None``."""

    name: str
    arguments: dict[str, Any]
    id: str | None = None


@dataclass(frozen=True)
class Reply:
    """One scripted answer.

    Args:
        text: The assistant's text, streamed in ~4-character pieces (or as ``chunks``).
        tool_calls: Tool calls after the text; their JSON arguments are streamed in several pieces.
        input_tokens: Usage: prompt (input) tokens.
        output_tokens: Usage: completion (output) tokens.
        chunk_delay: Seconds between streamed events (for cancellation and timeout tests).
        status: An HTTP status other than 200 answers the provider's error JSON instead.
        error: With ``status``: fields merged over the provider's default error object for that
            status (OpenAI ``message``/``type``/``param``/``code``; Anthropic ``type``/``message``);
            a dict with an ``"error"`` key is sent as the whole body.
        chunks: The streamed text pieces, when the test cares how the text is split
            (``text`` may then be left empty; otherwise it must equal their concatenation).
        stop_reason: OpenAI ``finish_reason`` / Anthropic ``stop_reason`` (e.g. ``"length"`` /
            ``"max_tokens"``); by default ``stop``/``end_turn``, or ``tool_calls``/``tool_use``.
        retry_after: ``Retry-After`` of a 429 (``None``: no header).
        retry_after_ms: ``retry-after-ms`` of a 429 (``None``: no header). Both SDKs read it
            before ``Retry-After`` and treat a 0 delay as "none given" (then back off ~0.5 s), so
            the default of 1 ms is what makes SDK retries fast.
        headers: More response headers.
        stream_error: For a streamed answer: after the text, the provider's in-stream error event
            carrying this error object (OpenAI ``data: {"error": …}``, Anthropic ``event: error``)
            and the end of the stream. Ignored by non-streamed requests.
    """

    text: str = ""
    tool_calls: tuple[ToolUse, ...] = ()
    input_tokens: int = 10
    output_tokens: int = 5
    chunk_delay: float = 0.0
    status: int = 200
    error: dict[str, Any] | None = None
    chunks: tuple[str, ...] | None = None
    stop_reason: str | None = None
    retry_after: str | None = "0"
    retry_after_ms: str | None = "1"
    headers: tuple[tuple[str, str], ...] = ()
    stream_error: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "tool_calls", tuple(self.tool_calls))
        if self.chunks is not None:
            object.__setattr__(self, "chunks", tuple(self.chunks))
            joined = "".join(self.chunks)
            if not self.text:
                object.__setattr__(self, "text", joined)
            elif self.text != joined:
                raise ValueError("Reply.text differs from the concatenated chunks")
        if self.error is not None and self.status == 200:
            raise ValueError("Reply.error needs a status other than 200")

    def pieces(self) -> list[str]:
        """The streamed text pieces."""
        return list(self.chunks) if self.chunks is not None else _split(self.text, TEXT_PIECE)

    def error_headers(self) -> Headers:
        """The extra headers of an error answer."""
        headers = list(self.headers)
        if self.status == 429:
            if self.retry_after is not None:
                headers.append(("retry-after", self.retry_after))
            if self.retry_after_ms is not None:
                headers.append(("retry-after-ms", self.retry_after_ms))
        return headers


Responder = Callable[[dict[str, Any]], Reply]


class _Answer(Exception):
    """Raised inside the app to answer an error JSON at once."""

    def __init__(self, status: int, body: dict[str, Any], headers: Headers | None = None) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or []


class LlmLoopback:
    """An LLM API server on ``127.0.0.1`` with an OS-assigned port, run in a thread.

    Args:
        api_key: The only key the server accepts (``None``: any key, or none).

    Attributes:
        requests: The decoded JSON bodies of the endpoint's requests, in order (those refused
            for their key or fields too).
        headers: Their headers, names lower-cased.
        cancelled: Indexes (into ``requests``) of streams the client hung up on before the end.
        errors: Exceptions raised by responders (each answered as a 500).
    """

    path: ClassVar[str]
    base_path: ClassVar[str]
    name: ClassVar[str]

    def __init__(self, api_key: str | None = "loopback-key") -> None:
        """Create a stopped server; :meth:`start` or ``with`` runs it."""
        self.api_key = api_key
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._script: collections.deque[Reply | Responder] = collections.deque()
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.cancelled: list[int] = []
        self.errors: list[BaseException] = []
        self.in_flight = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._port = 0

    # -- the script ---------------------------------------------------------------------------

    def script(self, *replies: Reply | Responder) -> None:
        """Append replies (or responders, called with the request body) to the FIFO."""
        with self._lock:
            self._script.extend(replies)

    @property
    def pending(self) -> int:
        """How many scripted replies no request has taken yet."""
        with self._lock:
            return len(self._script)

    def reset(self) -> None:
        """Forget the script, the request log, cancellations and responder errors."""
        with self._lock:
            self._script.clear()
            self.requests.clear()
            self.headers.clear()
            self.cancelled.clear()
            self.errors.clear()

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until no request is being answered (e.g. a cancelled stream noticed); ``False`` on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self.in_flight == 0, timeout)

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:<port>`` of the running server."""
        if not self._port:
            raise RuntimeError("the loopback server is not running")
        return f"http://127.0.0.1:{self._port}"

    @property
    def base_url(self) -> str:
        """The ``base_url`` the provider's SDK expects."""
        return self.origin + self.base_path

    def start(self) -> Self:
        """Serve in a background thread; return once the server accepts connections."""
        # proto=IPPROTO_TCP, or asyncio skips TCP_NODELAY on accepted sockets (~40 ms delayed ACKs).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        config = uvicorn.Config(
            self.app,
            interface="asgi3",
            lifespan="off",
            ws="none",
            log_config=None,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name=f"{self.name}-loopback", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the loopback {self.name} server did not start")
            time.sleep(0.005)
        self._server, self._thread, self._port = server, thread, sock.getsockname()[1]
        return self

    def stop(self) -> None:
        """Stop the server and join its thread."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._server = self._thread = None
        self._port = 0

    def __enter__(self) -> Self:
        """Start the server."""
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        """Stop the server."""
        self.stop()

    # -- the provider's formats (subclasses) --------------------------------------------------

    def error_body(self, status: int, error: dict[str, Any] | None = None) -> dict[str, Any]:
        """The provider's error JSON for ``status``, ``error`` merged over its default fields."""
        raise NotImplementedError

    def check(self, headers: dict[str, str], body: dict[str, Any]) -> None:
        """Raise :class:`_Answer` for a bad key, version or missing field."""
        raise NotImplementedError

    def complete(self, reply: Reply, body: dict[str, Any]) -> dict[str, Any]:
        """The non-streamed answer."""
        raise NotImplementedError

    def events(self, reply: Reply, body: dict[str, Any]) -> Iterator[str]:
        """The streamed answer, one SSE frame (ending in a blank line) at a time."""
        raise NotImplementedError

    def response_headers(self) -> Headers:
        """Headers of every answer (a request id)."""
        raise NotImplementedError

    # -- the ASGI app -------------------------------------------------------------------------

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one HTTP request the way the provider's endpoint does."""
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        raw = b"".join(chunks)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if scope["method"] != "POST" or scope["path"].rstrip("/") != self.path:
            message_404 = f"loopback: no route for {scope['method']} {scope['path']}"
            await self._send_json(send, 404, self.error_body(404, {"message": message_404}))
            return
        with self._lock:
            self.in_flight += 1
        try:
            await self._answer(raw, headers, receive, send)
        finally:
            with self._idle:
                self.in_flight -= 1
                self._idle.notify_all()

    async def _answer(self, raw: bytes, headers: dict[str, str], receive: Receive, send: Send) -> None:
        try:
            body = json.loads(raw)
        except ValueError:
            await self._send_json(
                send, 400, self.error_body(400, {"message": "loopback: the body is not JSON"})
            )
            return
        if not isinstance(body, dict):
            await self._send_json(
                send, 400, self.error_body(400, {"message": "loopback: the body is no object"})
            )
            return
        try:
            with self._lock:
                index = len(self.requests)
                self.requests.append(body)
                self.headers.append(headers)
            self.check(headers, body)
            reply = self._next(index, body)
            if reply.status != 200:
                raise _Answer(reply.status, self.error_body(reply.status, reply.error), reply.error_headers())
        except _Answer as answer:
            await self._send_json(send, answer.status, answer.body, answer.headers)
            return
        if body.get("stream") is True:
            await self._stream(index, reply, body, receive, send)
        else:
            await self._send_json(send, 200, self.complete(reply, body), list(reply.headers))

    def _next(self, index: int, body: dict[str, Any]) -> Reply:
        no_retry = [("x-should-retry", "false")]
        with self._lock:
            entry = self._script.popleft() if self._script else None
        if entry is None:
            message = f"{NO_SCRIPT} (request #{index} to {self.path})"
            raise _Answer(500, self.error_body(500, {"message": message}), no_retry)
        if isinstance(entry, Reply):
            return entry
        try:
            reply = entry(body)
            if not isinstance(reply, Reply):
                raise TypeError(f"the responder answered {type(reply).__name__}, not a Reply")
        except Exception as exc:
            self.errors.append(exc)
            message = f"loopback: the responder raised {type(exc).__name__}: {exc}"
            raise _Answer(500, self.error_body(500, {"message": message}), no_retry) from exc
        return reply

    async def _send_json(
        self, send: Send, status: int, payload: dict[str, Any], extra: Sequence[tuple[str, str]] = ()
    ) -> None:
        data = _json(payload).encode()
        headers = [("content-type", "application/json"), ("content-length", str(len(data)))]
        headers += self.response_headers() + list(extra)
        await send({"type": "http.response.start", "status": status, "headers": _raw(headers)})
        await send({"type": "http.response.body", "body": data})

    async def _stream(
        self, index: int, reply: Reply, body: dict[str, Any], receive: Receive, send: Send
    ) -> None:
        headers = [("content-type", "text/event-stream; charset=utf-8"), ("cache-control", "no-cache")]
        headers += self.response_headers() + list(reply.headers)
        await send({"type": "http.response.start", "status": 200, "headers": _raw(headers)})
        gone = asyncio.ensure_future(_disconnected(receive))
        try:
            for number, frame in enumerate(self.events(reply, body)):
                if number and reply.chunk_delay:
                    await asyncio.wait({gone}, timeout=reply.chunk_delay)
                if gone.done():
                    with self._lock:
                        self.cancelled.append(index)
                    return
                await send({"type": "http.response.body", "body": frame.encode(), "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            gone.cancel()


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def _raw(headers: Sequence[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]


# -- OpenAI -----------------------------------------------------------------------------------

_OPENAI_ERRORS: dict[int, tuple[str, str | None, str]] = {  # status -> type, code, message
    400: ("invalid_request_error", None, "loopback: invalid request"),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: (
        "invalid_request_error",
        "unsupported_country_region_territory",
        "Country, region, or territory not supported",
    ),
    404: (
        "invalid_request_error",
        "model_not_found",
        "The model does not exist or you do not have access to it.",
    ),
    429: (
        "requests",
        "rate_limit_exceeded",
        "Rate limit reached for requests per min (RPM): Limit 3, Used 3, Requested 1. "
        "Please try again in 20s.",
    ),
    500: ("server_error", None, "The server had an error while processing your request. Sorry about that!"),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
}


class OpenAILoopback(LlmLoopback):
    """OpenAI's Chat Completions: ``POST {base_url}/chat/completions``; ``base_url`` ends with ``/v1``.

    Streams ``chat.completion.chunk`` objects as ``data:`` lines ending in ``data: [DONE]``: a
    first chunk with the role, the text as ``delta.content`` pieces, each tool call as
    ``delta.tool_calls`` (``index``, ``id``, ``type`` and ``function.name`` with empty arguments
    first, then ``function.arguments`` pieces), a chunk with the ``finish_reason`` and an empty
    delta, and, when ``stream_options.include_usage`` is set, a last chunk with empty ``choices``
    and the ``usage`` (every earlier chunk then carries ``"usage": null``). The key comes from
    ``Authorization: Bearer``.
    """

    path = "/v1/chat/completions"
    base_path = "/v1"
    name = "openai"

    def error_body(self, status: int, error: dict[str, Any] | None = None) -> dict[str, Any]:
        """``{"error": {"message", "type", "param", "code"}}``."""
        if error is not None and "error" in error:
            return error
        kind, code, message = _OPENAI_ERRORS.get(
            status,
            ("server_error" if status >= 500 else "invalid_request_error", None, f"loopback: HTTP {status}"),
        )
        return {"error": {"message": message, "type": kind, "param": None, "code": code, **(error or {})}}

    def check(self, headers: dict[str, str], body: dict[str, Any]) -> None:
        """The Bearer key, then ``model`` and ``messages``."""
        if self.api_key is not None:
            given = headers.get("authorization", "")
            if not given.startswith("Bearer ") or not given.removeprefix("Bearer ").strip():
                message = (
                    "You didn't provide an API key. You need to provide your API key in an Authorization "
                    "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
                )
                raise _Answer(401, self.error_body(401, {"message": message, "code": None}))
            key = given.removeprefix("Bearer ").strip()
            if key != self.api_key:
                masked = key[:3] + "*" * max(0, len(key) - 7) + key[-4:] if len(key) > 7 else "*" * len(key)
                message = (
                    f"Incorrect API key provided: {masked}. "
                    "You can find your API key at https://platform.openai.com/account/api-keys."
                )
                raise _Answer(401, self.error_body(401, {"message": message}))
        if not body.get("model"):
            raise _Answer(400, self.error_body(400, {"message": "you must provide a model parameter"}))
        if "messages" not in body:
            error = {
                "message": "Missing required parameter: 'messages'.",
                "param": "messages",
                "code": "missing_required_parameter",
            }
            raise _Answer(400, self.error_body(400, error))

    def response_headers(self) -> Headers:
        """``x-request-id``."""
        return [("x-request-id", "req_" + secrets.token_hex(16)), ("openai-processing-ms", "1")]

    def _ids(self, reply: Reply) -> list[str]:
        return [call.id or "call_" + _token(_ALNUM, 24) for call in reply.tool_calls]

    def _usage(self, reply: Reply) -> dict[str, Any]:
        return {
            "prompt_tokens": reply.input_tokens,
            "completion_tokens": reply.output_tokens,
            "total_tokens": reply.input_tokens + reply.output_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }

    def _finish(self, reply: Reply) -> str:
        return reply.stop_reason or ("tool_calls" if reply.tool_calls else "stop")

    def _envelope(self, body: dict[str, Any], kind: str) -> dict[str, Any]:
        return {
            "id": "chatcmpl-" + _token(_ALNUM, 29),
            "object": kind,
            "created": int(time.time()),
            "model": body.get("model", "gpt-4o-mini"),
        }

    def complete(self, reply: Reply, body: dict[str, Any]) -> dict[str, Any]:
        """A ``chat.completion``."""
        message: dict[str, Any] = {
            "role": "assistant",
            "content": reply.text if reply.text or not reply.tool_calls else None,
            "refusal": None,
            "annotations": [],
        }
        if reply.tool_calls:
            message["tool_calls"] = [
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": _json(call.arguments)},
                }
                for call_id, call in zip(self._ids(reply), reply.tool_calls, strict=True)
            ]
        choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": self._finish(reply)}
        return {
            **self._envelope(body, "chat.completion"),
            "choices": [choice],
            "usage": self._usage(reply),
            "service_tier": "default",
            "system_fingerprint": "fp_loopback",
        }

    def events(self, reply: Reply, body: dict[str, Any]) -> Iterator[str]:
        """``chat.completion.chunk`` frames, then ``[DONE]``."""
        envelope = {**self._envelope(body, "chat.completion.chunk"), "service_tier": "default"}
        envelope["system_fingerprint"] = "fp_loopback"
        options = body.get("stream_options") or {}
        include_usage = isinstance(options, dict) and options.get("include_usage") is True

        def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
            payload = {
                **envelope,
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
            }
            if include_usage:
                payload["usage"] = None
            return f"data: {_json(payload)}\n\n"

        content = "" if reply.text or not reply.tool_calls else None
        yield chunk({"role": "assistant", "content": content, "refusal": None})
        for piece in reply.pieces():
            yield chunk({"content": piece})
        if reply.stream_error is not None:
            yield f"data: {_json(self.error_body(500, reply.stream_error))}\n\n"
            return
        for index, (call_id, call) in enumerate(zip(self._ids(reply), reply.tool_calls, strict=True)):
            function = {"name": call.name, "arguments": ""}
            yield chunk(
                {"tool_calls": [{"index": index, "id": call_id, "type": "function", "function": function}]}
            )
            for piece in _split(_json(call.arguments), JSON_PIECE):
                yield chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
        yield chunk({}, self._finish(reply))
        if include_usage:
            yield f"data: {_json({**envelope, 'choices': [], 'usage': self._usage(reply)})}\n\n"
        yield "data: [DONE]\n\n"


# -- Anthropic --------------------------------------------------------------------------------

_ANTHROPIC_ERRORS: dict[int, tuple[str, str]] = {  # status -> type, message
    400: ("invalid_request_error", "loopback: invalid request"),
    401: ("authentication_error", "invalid x-api-key"),
    403: ("permission_error", "Your API key does not have permission to use the specified resource."),
    404: ("not_found_error", "Not found"),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "Number of requests has exceeded your per-minute rate limit."),
    500: ("api_error", "Internal server error"),
    529: ("overloaded_error", "Overloaded"),
}


class AnthropicLoopback(LlmLoopback):
    """Anthropic's Messages: ``POST {base_url}/v1/messages``; ``base_url`` has no ``/v1``.

    Streams the documented events as ``event: <type>`` / ``data: {...}`` frames:
    ``message_start`` (the message with empty ``content`` and ``usage.input_tokens``; its
    ``output_tokens`` is 1, as the API's is), then per content block ``content_block_start``
    (``text`` with ``""``, or ``tool_use`` with ``id``, ``name`` and ``input: {}``), ``ping``
    (after the first block's start), ``content_block_delta`` (``text_delta`` pieces, or
    ``input_json_delta`` pieces of the input's JSON, the first one empty as the API's is),
    ``content_block_stop``; then ``message_delta`` (``stop_reason``, cumulative ``usage``) and
    ``message_stop``. The key comes from ``x-api-key`` or ``Authorization: Bearer`` (the anthropic
    SDK 2.x sends its ``api_key`` there); ``anthropic-version`` is required.
    """

    path = "/v1/messages"
    base_path = ""
    name = "anthropic"

    def error_body(self, status: int, error: dict[str, Any] | None = None) -> dict[str, Any]:
        """``{"type": "error", "error": {"type", "message"}, "request_id"}``."""
        if error is not None and "error" in error:
            return error
        kind, message = _ANTHROPIC_ERRORS.get(
            status, ("api_error" if status >= 500 else "invalid_request_error", f"loopback: HTTP {status}")
        )
        return {
            "type": "error",
            "error": {"type": kind, "message": message, **(error or {})},
            "request_id": self._request_id(),
        }

    def check(self, headers: dict[str, str], body: dict[str, Any]) -> None:
        """The key, ``anthropic-version``, then ``model``, ``max_tokens`` and ``messages``."""
        if self.api_key is not None:
            # The key is in ``x-api-key`` or, as anthropic 2.x sends it, ``Authorization: Bearer``.
            bearer = headers.get("authorization", "")
            key = headers.get("x-api-key") or (
                bearer.removeprefix("Bearer ").strip() if bearer.startswith("Bearer ") else ""
            )
            if not key:
                raise _Answer(401, self.error_body(401, {"message": "x-api-key header is required"}))
            if key != self.api_key:
                raise _Answer(401, self.error_body(401, {"message": "invalid x-api-key"}))
        if not headers.get("anthropic-version"):
            raise _Answer(400, self.error_body(400, {"message": "anthropic-version: header is required"}))
        for required in ("model", "max_tokens", "messages"):
            if required not in body:
                raise _Answer(400, self.error_body(400, {"message": f"{required}: Field required"}))

    def _request_id(self) -> str:
        return "req_011C" + _token(_BASE58, 20)

    def response_headers(self) -> Headers:
        """``request-id``."""
        return [("request-id", self._request_id())]

    def _usage(self, reply: Reply, output_tokens: int) -> dict[str, Any]:
        return {
            "input_tokens": reply.input_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
            "output_tokens": output_tokens,
            "service_tier": "standard",
        }

    def _message(self, body: dict[str, Any], content: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "id": "msg_01" + _token(_BASE58, 22),
            "type": "message",
            "role": "assistant",
            "model": body.get("model", "claude-sonnet-4-5"),
            "content": content,
            "stop_reason": None,
            "stop_sequence": None,
        }

    def _blocks(self, reply: Reply) -> list[dict[str, Any]]:
        blocks: list[dict[str, Any]] = [{"type": "text", "text": reply.text}] if reply.text else []
        for call in reply.tool_calls:
            tool_id = call.id or "toolu_01" + _token(_BASE58, 22)
            blocks.append({"type": "tool_use", "id": tool_id, "name": call.name, "input": call.arguments})
        return blocks

    def _stop(self, reply: Reply) -> str:
        return reply.stop_reason or ("tool_use" if reply.tool_calls else "end_turn")

    def complete(self, reply: Reply, body: dict[str, Any]) -> dict[str, Any]:
        """A ``message``."""
        message = self._message(body, self._blocks(reply))
        message["stop_reason"] = self._stop(reply)
        message["usage"] = self._usage(reply, reply.output_tokens)
        return message

    def events(self, reply: Reply, body: dict[str, Any]) -> Iterator[str]:
        """``message_start`` … ``message_stop``."""

        def event(payload: dict[str, Any]) -> str:
            return f"event: {payload['type']}\ndata: {_json(payload)}\n\n"

        start = self._message(body, [])
        start["usage"] = self._usage(reply, min(1, reply.output_tokens))
        yield event({"type": "message_start", "message": start})
        blocks = self._blocks(reply)
        if not blocks:
            yield event({"type": "ping"})
        for index, block in enumerate(blocks):
            if block["type"] == "text":
                yield event(
                    {
                        "type": "content_block_start",
                        "index": index,
                        "content_block": {"type": "text", "text": ""},
                    }
                )
                if index == 0:
                    yield event({"type": "ping"})
                for piece in reply.pieces():
                    delta = {"type": "text_delta", "text": piece}
                    yield event({"type": "content_block_delta", "index": index, "delta": delta})
                if reply.stream_error is not None:
                    yield event(self.error_body(500, reply.stream_error))
                    return
            else:
                opening = {**block, "input": {}}
                yield event({"type": "content_block_start", "index": index, "content_block": opening})
                if index == 0:
                    yield event({"type": "ping"})
                for piece in ["", *_split(json.dumps(block["input"], ensure_ascii=False), JSON_PIECE)]:
                    delta = {"type": "input_json_delta", "partial_json": piece}
                    yield event({"type": "content_block_delta", "index": index, "delta": delta})
            yield event({"type": "content_block_stop", "index": index})
        if reply.stream_error is not None:  # a reply with no text
            yield event(self.error_body(500, reply.stream_error))
            return
        usage = {k: v for k, v in self._usage(reply, reply.output_tokens).items() if k.endswith("tokens")}
        stop = {"stop_reason": self._stop(reply), "stop_sequence": None}
        yield event({"type": "message_delta", "delta": stop, "usage": usage})
        yield event({"type": "message_stop"})
