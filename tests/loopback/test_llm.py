"""The loopback LLM servers, driven through the real ``openai`` and ``anthropic`` SDKs (async clients)."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import anthropic
import httpx
import openai
import pytest

from tests.loopback.llm import NO_SCRIPT, AnthropicLoopback, OpenAILoopback, Reply, ToolUse

if TYPE_CHECKING:
    from collections.abc import Iterator

KEY = "sk-loopback-0123456789"
QUOTE = {"symbol": "AAPL", "fields": ["close", "volume"], "note": 'café "q"', "limit": 3, "adjusted": True}
USER: list[Any] = [{"role": "user", "content": "What did AAPL close at?"}]


@pytest.fixture(scope="module")
def openai_server() -> Iterator[OpenAILoopback]:
    with OpenAILoopback(api_key=KEY) as server:
        yield server


@pytest.fixture(scope="module")
def anthropic_server() -> Iterator[AnthropicLoopback]:
    with AnthropicLoopback(api_key=KEY) as server:
        yield server


@pytest.fixture
def gpt(openai_server: OpenAILoopback) -> OpenAILoopback:
    openai_server.reset()
    return openai_server


@pytest.fixture
def claude(anthropic_server: AnthropicLoopback) -> AnthropicLoopback:
    anthropic_server.reset()
    return anthropic_server


def openai_client(llm: OpenAILoopback, key: str = KEY, retries: int = 0) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=llm.base_url, api_key=key, max_retries=retries)


def anthropic_client(llm: AnthropicLoopback, key: str = KEY, retries: int = 0) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=llm.base_url, api_key=key, max_retries=retries)


# -- OpenAI -----------------------------------------------------------------------------------


async def test_openai_streamed_text(gpt: OpenAILoopback) -> None:
    gpt.script(Reply("Hello from the loopback server!"))
    async with openai_client(gpt) as client:
        stream = await client.chat.completions.create(model="gpt-4o-mini", messages=USER, stream=True)
        chunks = [chunk async for chunk in stream]
    pieces = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert "".join(pieces) == "Hello from the loopback server!"
    assert len(pieces) > 4
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.object == "chat.completion.chunk" and c.model == "gpt-4o-mini" for c in chunks)
    assert len({c.id for c in chunks}) == 1
    assert gpt.requests[0]["messages"] == USER
    assert gpt.requests[0]["stream"] is True
    assert gpt.headers[0]["authorization"] == f"Bearer {KEY}"
    assert gpt.pending == 0


async def test_openai_streamed_tool_call_and_usage(gpt: OpenAILoopback) -> None:
    gpt.script(
        Reply("Checking.", tool_calls=(ToolUse("get_quote", QUOTE),), input_tokens=42, output_tokens=7)
    )
    async with openai_client(gpt) as client:
        stream = await client.chat.completions.create(
            model="gpt-4o-mini", messages=USER, stream=True, stream_options={"include_usage": True}
        )
        chunks = [chunk async for chunk in stream]
    calls: list[Any] = [call for c in chunks if c.choices for call in c.choices[0].delta.tool_calls or ()]
    assert calls[0].index == 0
    assert calls[0].type == "function"
    assert calls[0].id.startswith("call_")
    assert calls[0].function.name == "get_quote"
    assert calls[0].function.arguments == ""
    arguments = [call.function.arguments for call in calls[1:]]
    assert len(arguments) > 2
    assert all(call.id is None and call.function.name is None for call in calls[1:])
    assert json.loads("".join(arguments)) == QUOTE
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["tool_calls"]
    *body, last = chunks
    assert last.choices == []
    assert all(c.usage is None for c in body)
    assert last.usage is not None
    assert (last.usage.prompt_tokens, last.usage.completion_tokens, last.usage.total_tokens) == (42, 7, 49)


async def test_openai_stream_helper(gpt: OpenAILoopback) -> None:
    gpt.script(Reply(tool_calls=(ToolUse("get_quote", QUOTE), ToolUse("get_news", {"symbol": "AAPL"}))))
    async with openai_client(gpt) as client:
        async with client.chat.completions.stream(model="gpt-4o-mini", messages=USER) as stream:
            final = await stream.get_final_completion()
    message = final.choices[0].message
    assert message.content is None
    assert final.choices[0].finish_reason == "tool_calls"
    assert [(c.function.name, json.loads(c.function.arguments)) for c in message.tool_calls or ()] == [
        ("get_quote", QUOTE),
        ("get_news", {"symbol": "AAPL"}),
    ]


async def test_openai_non_streamed(gpt: OpenAILoopback) -> None:
    gpt.script(Reply("Done.", tool_calls=(ToolUse("get_quote", QUOTE, id="call_fixed"),), output_tokens=9))
    async with openai_client(gpt) as client:
        completion = await client.chat.completions.create(model="gpt-4o", messages=USER)
    assert completion.object == "chat.completion"
    assert completion.model == "gpt-4o"
    choice = completion.choices[0]
    assert choice.message.content == "Done."
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls or []
    assert call.id == "call_fixed"
    assert call.type == "function"
    assert json.loads(call.function.arguments) == QUOTE
    assert completion.usage is not None
    assert completion.usage.completion_tokens == 9
    assert completion.usage.total_tokens == 19
    assert "stream" not in gpt.requests[0]


async def test_openai_responder_sees_the_tool_result(gpt: OpenAILoopback) -> None:
    def answer(body: dict[str, Any]) -> Reply:
        (result,) = [m for m in body["messages"] if m["role"] == "tool"]
        assert result["tool_call_id"] == "call_1"
        return Reply(f"AAPL closed at {result['content']}.")

    gpt.script(Reply(tool_calls=(ToolUse("get_quote", {"symbol": "AAPL"}, id="call_1"),)), answer)
    async with openai_client(gpt) as client:
        first = await client.chat.completions.create(model="gpt-4o-mini", messages=USER)
        call = (first.choices[0].message.tool_calls or [])[0]
        messages: list[Any] = [
            *USER,
            first.choices[0].message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": "189.5"},
        ]
        stream = await client.chat.completions.create(model="gpt-4o-mini", messages=messages, stream=True)
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == "AAPL closed at 189.5."
    assert gpt.requests[1]["messages"][1]["tool_calls"][0]["function"]["name"] == "get_quote"
    assert gpt.errors == []


@pytest.mark.parametrize(
    ("status", "error", "kind"),
    [
        (400, {"message": "bad tools", "param": "tools"}, openai.BadRequestError),
        (404, None, openai.NotFoundError),
        (429, None, openai.RateLimitError),
        (500, None, openai.InternalServerError),
        (503, {"message": "Slow down"}, openai.InternalServerError),
    ],
)
async def test_openai_error_statuses(
    gpt: OpenAILoopback, status: int, error: dict[str, Any] | None, kind: type[openai.APIStatusError]
) -> None:
    gpt.script(Reply(status=status, error=error))
    async with openai_client(gpt) as client:
        with pytest.raises(kind) as raised:
            await client.chat.completions.create(model="gpt-4o-mini", messages=USER, stream=True)
    assert raised.value.status_code == status
    body = raised.value.body
    assert isinstance(body, dict)
    assert set(body) == {"message", "type", "param", "code"}
    if error:
        assert body["message"] == error["message"]
    if status == 429:
        assert body["code"] == "rate_limit_exceeded"
        assert raised.value.response.headers["retry-after"] == "0"
    assert raised.value.request_id is not None
    assert raised.value.request_id.startswith("req_")


async def test_openai_retries_are_fast(gpt: OpenAILoopback) -> None:
    gpt.script(Reply(status=429), Reply(status=500, headers=(("retry-after-ms", "1"),)), Reply("ok"))
    async with openai_client(gpt, retries=2) as client:
        started = time.perf_counter()
        completion = await client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    assert completion.choices[0].message.content == "ok"
    assert time.perf_counter() - started < 0.3
    assert len(gpt.requests) == 3


async def test_openai_in_stream_error(gpt: OpenAILoopback) -> None:
    gpt.script(Reply("Partial ans", stream_error={"message": "The model crashed"}))
    async with openai_client(gpt) as client:
        stream = await client.chat.completions.create(model="gpt-4o-mini", messages=USER, stream=True)
        seen: list[str] = []

        async def read() -> None:
            async for chunk in stream:
                seen.append(chunk.choices[0].delta.content or "")

        with pytest.raises(openai.APIError, match="The model crashed"):
            await read()
    assert "".join(seen) == "Partial ans"


async def test_openai_empty_script_and_wrong_key(gpt: OpenAILoopback) -> None:
    async with openai_client(gpt, retries=2) as client:  # x-should-retry: false, so no retry
        with pytest.raises(openai.InternalServerError, match=NO_SCRIPT):
            await client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    assert len(gpt.requests) == 1
    gpt.script(Reply("never sent"))
    async with openai_client(gpt, key="sk-wrong-key-9876") as client:
        with pytest.raises(openai.AuthenticationError) as raised:
            await client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    assert raised.value.code == "invalid_api_key"
    assert "sk-**********9876" in raised.value.message
    assert "sk-wrong-key-9876" not in raised.value.message
    assert gpt.pending == 1


async def test_openai_cancelled_stream(gpt: OpenAILoopback) -> None:
    gpt.script(Reply("a long answer " * 20, chunk_delay=0.02))
    async with openai_client(gpt) as client:
        stream = await client.chat.completions.create(model="gpt-4o-mini", messages=USER, stream=True)
        async for chunk in stream:
            if chunk.choices[0].delta.content:
                break
        await stream.close()
    assert gpt.wait_idle()
    assert gpt.cancelled == [0]


# -- Anthropic --------------------------------------------------------------------------------


async def test_anthropic_raw_stream(claude: AnthropicLoopback) -> None:
    claude.script(Reply("Hello from the loopback server!", input_tokens=31, output_tokens=12))
    async with anthropic_client(claude) as client:
        stream = await client.messages.create(
            model="claude-sonnet-4-5", max_tokens=256, messages=USER, stream=True
        )
        events: list[Any] = [event async for event in stream]
    assert [e.type for e in events] == [
        "message_start",
        "content_block_start",
        *["content_block_delta"] * 8,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]  # the ping is read and dropped by the SDK
    start, block = events[0], events[1]
    assert start.type == "message_start"
    assert start.message.usage.input_tokens == 31
    assert start.message.id.startswith("msg_")
    assert start.message.model == "claude-sonnet-4-5"
    assert block.type == "content_block_start"
    assert block.content_block.type == "text"
    text = "".join(
        e.delta.text for e in events if e.type == "content_block_delta" and e.delta.type == "text_delta"
    )
    assert text == "Hello from the loopback server!"
    delta = events[-2]
    assert delta.type == "message_delta"
    assert delta.delta.stop_reason == "end_turn"
    assert delta.usage.output_tokens == 12
    assert claude.headers[0]["authorization"] == f"Bearer {KEY}"  # anthropic 2.x: not x-api-key
    assert claude.headers[0]["anthropic-version"]


async def test_anthropic_sse_frames_on_the_wire(claude: AnthropicLoopback) -> None:
    claude.script(Reply("Hi", tool_calls=(ToolUse("get_quote", {"symbol": "AAPL"}),)))
    body = {"model": "claude-haiku-4-5", "max_tokens": 64, "messages": USER, "stream": True}
    headers = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}
    async with httpx.AsyncClient(base_url=claude.base_url) as client:
        response = await client.post("/v1/messages", json=body, headers=headers)
    assert response.headers["content-type"].startswith("text/event-stream")
    frames = response.text.split("\n\n")
    assert frames[-1] == ""
    names = []
    for frame in frames[:-1]:
        event, data = frame.split("\n")
        name = event.removeprefix("event: ")
        assert json.loads(data.removeprefix("data: "))["type"] == name
        names.append(name)
    assert names[:3] == ["message_start", "content_block_start", "ping"]
    assert names[-2:] == ["message_delta", "message_stop"]


async def test_anthropic_stream_helper_with_tool_use(claude: AnthropicLoopback) -> None:
    claude.script(
        Reply("Let me look.", tool_calls=(ToolUse("get_quote", QUOTE),), input_tokens=50, output_tokens=20)
    )
    async with anthropic_client(claude) as client:
        async with client.messages.stream(model="claude-sonnet-4-5", max_tokens=256, messages=USER) as stream:
            text = "".join([piece async for piece in stream.text_stream])
            message = await stream.get_final_message()
    assert text == "Let me look."
    assert [block.type for block in message.content] == ["text", "tool_use"]
    tool = message.content[1]
    assert tool.type == "tool_use"
    assert tool.name == "get_quote"
    assert tool.id.startswith("toolu_")
    assert tool.input == QUOTE
    assert message.stop_reason == "tool_use"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (50, 20)


async def test_anthropic_non_streamed(claude: AnthropicLoopback) -> None:
    claude.script(
        Reply("Done.", tool_calls=(ToolUse("get_quote", QUOTE, id="toolu_fixed"),), output_tokens=9)
    )
    async with anthropic_client(claude) as client:
        message = await client.messages.create(model="claude-sonnet-4-5", max_tokens=256, messages=USER)
    assert message.type == "message"
    assert message.role == "assistant"
    assert [block.type for block in message.content] == ["text", "tool_use"]
    text, tool = message.content
    assert text.type == "text"
    assert text.text == "Done."
    assert tool.type == "tool_use"
    assert tool.id == "toolu_fixed"
    assert tool.input == QUOTE
    assert message.stop_reason == "tool_use"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (10, 9)
    assert message.usage.cache_read_input_tokens == 0


async def test_anthropic_responder_sees_the_tool_result(claude: AnthropicLoopback) -> None:
    def answer(body: dict[str, Any]) -> Reply:
        last = body["messages"][-1]
        (result,) = [block for block in last["content"] if block["type"] == "tool_result"]
        assert result["tool_use_id"] == "toolu_1"
        return Reply(f"AAPL closed at {result['content']}.")

    claude.script(Reply(tool_calls=(ToolUse("get_quote", {"symbol": "AAPL"}, id="toolu_1"),)), answer)
    async with anthropic_client(claude) as client:
        async with client.messages.stream(model="claude-sonnet-4-5", max_tokens=99, messages=USER) as stream:
            first = await stream.get_final_message()
        messages: list[Any] = [
            *USER,
            {
                "role": "assistant",
                "content": [block.model_dump(exclude_none=True) for block in first.content],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "189.5"}],
            },
        ]
        second = await client.messages.create(model="claude-sonnet-4-5", max_tokens=99, messages=messages)
    assert second.content[0].type == "text"
    assert second.content[0].text == "AAPL closed at 189.5."
    assert claude.requests[1]["messages"][1]["content"][0]["input"] == {"symbol": "AAPL"}
    assert claude.errors == []


@pytest.mark.parametrize(
    ("status", "kind", "error_type"),
    [
        (400, anthropic.BadRequestError, "invalid_request_error"),
        (429, anthropic.RateLimitError, "rate_limit_error"),
        (500, anthropic.InternalServerError, "api_error"),
        (529, anthropic.OverloadedError, "overloaded_error"),
    ],
)
async def test_anthropic_error_statuses(
    claude: AnthropicLoopback, status: int, kind: type[anthropic.APIStatusError], error_type: str
) -> None:
    claude.script(Reply(status=status))
    async with anthropic_client(claude) as client:
        with pytest.raises(kind) as raised:
            await client.messages.create(model="claude-sonnet-4-5", max_tokens=9, messages=USER, stream=True)
    assert raised.value.status_code == status
    body = raised.value.body
    assert isinstance(body, dict)
    assert body["type"] == "error"
    assert body["error"]["type"] == error_type
    assert raised.value.request_id is not None
    assert raised.value.request_id.startswith("req_")


async def test_anthropic_in_stream_error(claude: AnthropicLoopback) -> None:
    overloaded = {"type": "overloaded_error", "message": "Overloaded"}
    claude.script(Reply("Partial", stream_error=overloaded))
    async with anthropic_client(claude) as client:
        async with client.messages.stream(model="claude-sonnet-4-5", max_tokens=9, messages=USER) as stream:
            with pytest.raises(anthropic.APIStatusError, match="overloaded_error"):
                await stream.get_final_message()


async def test_anthropic_empty_script_and_wrong_key(claude: AnthropicLoopback) -> None:
    async with anthropic_client(claude, retries=2) as client:
        with pytest.raises(anthropic.InternalServerError, match=NO_SCRIPT):
            await client.messages.create(model="claude-sonnet-4-5", max_tokens=9, messages=USER)
    assert len(claude.requests) == 1
    claude.script(Reply("never sent"))
    async with anthropic_client(claude, key="sk-ant-wrong") as client:
        with pytest.raises(anthropic.AuthenticationError, match="invalid x-api-key"):
            await client.messages.create(model="claude-sonnet-4-5", max_tokens=9, messages=USER, stream=True)
    assert claude.pending == 1


async def test_anthropic_cancelled_stream(claude: AnthropicLoopback) -> None:
    claude.script(Reply("a long answer " * 20, chunk_delay=0.02))
    async with anthropic_client(claude) as client:
        async with client.messages.stream(model="claude-sonnet-4-5", max_tokens=9, messages=USER) as stream:
            async for _ in stream.text_stream:
                break
    assert claude.wait_idle()
    assert claude.cancelled == [0]
