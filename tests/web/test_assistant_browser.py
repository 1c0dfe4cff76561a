"""The Analysis page's assistant pane, in headless Chromium, against a scripted model on loopback.

A ``k2q up`` of its own (embedded stores, the demo datasets, no live feed) whose OpenAI provider is
an :class:`~tests.loopback.llm.OpenAILoopback` in this process (``OPENAI_BASE_URL``): the real SDK
streams the scripted replies to the chat job, which relays them to the page over the events socket.
Needs a built web app (``web/dist``, or ``K2Q_TEST_WEB_DIST``) and Debian's ``/usr/bin/chromium``;
skipped without either.

What the chart draws of the assistant's evidence is read back from its container: ``data-evidence``
is JSON with the kind, whether it is drawn on the loaded bars and the bar times it is drawn at
(``web/src/chart/evidenceDrawing.ts``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from tests.loopback.llm import OpenAILoopback, Reply, ToolUse
from tests.process import K2qServer, running_up
from tests.web.chromium import CHROMIUM, signed_in_page

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
DIST = Path(os.environ.get("K2Q_TEST_WEB_DIST") or ROOT / "web" / "dist")
KEY = "sk-loopback-assistant-browser"
MODEL = "gpt-4.1-mini"
CHART = "[data-testid=chart]"
PANE = "aside[aria-label=Assistant]"
USER = {"username": "chat-analyst", "password": "correct horse assistant staple", "role": "analyst"}
DAY_MS = 86_400_000
# The first turn: the job worker picks the turn up, the SDK connects, the first bars are read.
TURN_TIMEOUT_MS = 60_000

READ_BARS_ID = "call_readbars0000000000001"
SHOW_ID = "call_showonchart00000000001"
CREATE_ID = "call_createstrategy0000001"
STRATEGY_NAME = "SMA cross (assistant)"
STRATEGY_CODE = """# SMA crossover, written by the assistant
long_entry = crossover(sma(close, 10), sma(close, 30))
long_exit = crossunder(sma(close, 10), sma(close, 30))
"""

if not (DIST / "index.html").is_file() or not CHROMIUM.is_file():
    reason = f"needs {DIST / 'index.html'} (just web) and {CHROMIUM}"
    if os.environ.get("K2Q_REQUIRE_BROWSER"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason, allow_module_level=True)

from playwright.sync_api import Locator, Page, WebSocket, expect  # noqa: E402

# Records, in the page, each text the streaming bubble shows (before the stored message replaces it).
WATCH_STREAM = """() => {
  window.__streamed = [];
  window.__sameDocument = true;
  const known = new Set();
  const seen = () => {
    for (const el of document.querySelectorAll("[data-testid=chat-streaming] .bubble")) {
      const text = el.textContent.replace(/\\s+/g, " ").trim();
      if (text !== "" && !known.has(text)) {
        known.add(text);
        window.__streamed.push(text);
      }
    }
  };
  new MutationObserver(seen).observe(document.body, { subtree: true, childList: true, characterData: true });
}"""


@pytest.fixture(scope="module")
def llm() -> Iterator[OpenAILoopback]:
    with OpenAILoopback(api_key=KEY) as server:
        yield server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, llm: OpenAILoopback) -> Iterator[K2qServer]:
    with running_up(
        tmp_path_factory.mktemp("k2q-chat-web"),
        K2Q_WEB_DIST=str(DIST),
        OPENAI_BASE_URL=llm.base_url,
        OPENAI_API_KEY=KEY,
        K2Q_OPENAI_MODEL=MODEL,
        K2Q_ASSISTANT_PROVIDER="openai",
    ) as k2q:
        created = httpx.post(f"{k2q.url}/api/v1/admin/users", json=USER, headers=k2q.headers(), timeout=10)
        assert created.status_code in (200, 201), created.text
        yield k2q


@pytest.fixture
def frames() -> dict[int, list[str]]:
    """The messages the page received, by events socket (the chart's live bars have one of their own)."""
    return {}


@pytest.fixture
def page(server: K2qServer, frames: dict[int, list[str]]) -> Iterator[Page]:
    """A signed-in page; any uncaught script error or console error fails the test."""
    with signed_in_page(server.url, USER["username"], USER["password"], width=1600, height=1000) as (
        tab,
        errors,
    ):

        def on_socket(ws: WebSocket) -> None:
            if urlparse(ws.url).path == "/api/v1/ws":
                received = frames.setdefault(len(frames), [])
                ws.on("framereceived", lambda payload: received.append(str(payload)))

        tab.on("websocket", on_socket)
        yield tab
        assert errors == []


@contextlib.contextmanager
def api(server: K2qServer) -> Iterator[httpx.Client]:
    """An API client signed in as the test's analyst (cookies and the CSRF header)."""
    with httpx.Client(base_url=server.url, timeout=30) as client:
        credentials = {"username": USER["username"], "password": USER["password"]}
        login = client.post("/api/v1/auth/login", json=credentials)
        assert login.status_code == 200, login.text
        client.headers["X-CSRF-Token"] = client.cookies["k2q_csrf"]
        yield client


def demo_day_table(server: K2qServer) -> str:
    tables = httpx.get(f"{server.url}/api/v1/stocks/tables", headers=server.headers(), timeout=10).json()
    return str(next(t["table"] for t in tables if t["symbol"] == "DEMO" and t["timespan"] == "day"))


def open_chart(page: Page, server: K2qServer) -> None:
    page.goto(f"{server.url}/analysis?table={demo_day_table(server)}&tf=1d")
    page.wait_for_function(
        """(sel) => { const c = document.querySelector(sel);
                      return c !== null && c.dataset.loading === "false"
                        && Number(c.dataset.bars) > 100; }""",
        arg=CHART,
    )


def tool_results(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The tool results the model was sent (OpenAI form), decoded, by call id."""
    return {m["tool_call_id"]: json.loads(m["content"]) for m in body["messages"] if m["role"] == "tool"}


def epoch_ms(iso: str) -> int:
    """A bar's ``ts`` as the tools write it (ISO text; UTC when it names no zone), in epoch ms."""
    when = dt.datetime.fromisoformat(iso)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return int(when.timestamp() * 1000)


def send(pane: Locator, text: str) -> None:
    box = pane.get_by_label("Message the assistant")
    expect(box).to_be_enabled()
    box.fill(text)
    box.press("Enter")


def idle(pane: Locator, timeout: float = TURN_TIMEOUT_MS) -> None:
    expect(pane.locator("[data-testid=chat-messages]")).to_have_attribute(
        "data-running", "false", timeout=timeout
    )


def test_a_streamed_answer_with_tool_cards_a_confirmation_and_a_marker_on_the_chart(
    server: K2qServer, llm: OpenAILoopback, page: Page, frames: dict[int, list[str]]
) -> None:
    llm.reset()
    seen: dict[str, Any] = {}

    def quote_and_mark(body: dict[str, Any]) -> Reply:
        """The second reply: the last close in words, and a marker on its bar."""
        result = tool_results(body)[READ_BARS_ID]
        assert result["tool"] == "read_bars"
        bars = result["data"]["bars"]
        assert result["data"]["symbol"] == "DEMO"
        assert len(bars) == 5
        last = bars[-1]
        seen.update(close=last["close"], ts=epoch_ms(last["ts"]), iso=last["ts"])
        marker = {
            "kind": "marker",
            "symbol": "DEMO",
            "timeframe": "1d",
            "ts": seen["ts"],
            "label": "Last close",
            "position": "above",
        }
        return Reply(
            f"DEMO closed at {last['close']:.2f}; marking that bar.",
            tool_calls=(ToolUse("show_on_chart", {"references": [marker]}, id=SHOW_ID),),
        )

    def answer(body: dict[str, Any]) -> Reply:
        """The answer, streamed slowly enough to be seen being written."""
        assert tool_results(body)[SHOW_ID] == {"tool": "show_on_chart", "data": {"shown": 1}}
        close = f"{seen['close']:.2f}"
        seen["answer"] = f"**Last close** was {close}, marked on the chart."
        return Reply(
            chunks=("**Last close**", " was ", close, ", marked", " on the", " chart."),
            chunk_delay=0.25,
            input_tokens=200,
            output_tokens=20,
        )

    def saved(body: dict[str, Any]) -> Reply:
        """After the user said Run: the strategy's id, from the tool's result."""
        created = tool_results(body)[CREATE_ID]
        assert created["tool"] == "create_strategy"
        seen["strategy_id"] = created["data"]["strategy_id"]
        return Reply(f"Saved *{STRATEGY_NAME}* as strategy {seen['strategy_id']}.")

    llm.script(
        Reply(
            tool_calls=(
                ToolUse("read_bars", {"symbol": "DEMO", "timeframe": "1d", "limit": 5}, id=READ_BARS_ID),
            )
        ),
        quote_and_mark,
        answer,
        Reply(
            "I will save it.",
            tool_calls=(
                ToolUse("create_strategy", {"name": STRATEGY_NAME, "code": STRATEGY_CODE}, id=CREATE_ID),
            ),
        ),
        saved,
    )

    open_chart(page, server)
    pane = page.locator(PANE)
    expect(pane.locator("[data-testid=assistant]")).to_have_attribute("data-configured", "true")
    expect(pane.locator(".assistant-model")).to_have_text(MODEL)
    page.evaluate(WATCH_STREAM)

    # -- 1. A question: read_bars runs at once, the answer streams, the numbers are cited ---------
    send(pane, "Where did DEMO close on its last bar?")
    expect(pane.locator("[data-testid=chat-message][data-role=user]")).to_have_text(
        "Where did DEMO close on its last bar?"
    )
    idle(pane)
    assert llm.pending == 2, llm.errors
    assert llm.errors == []
    close = f"{seen['close']:.2f}"

    # The stored answer, as markdown: the bold words, the close as a number cited from read_bars.
    assistant = pane.locator("[data-testid=chat-message][data-role=assistant]")
    final = assistant.filter(has=page.locator("strong", has_text="Last close"))
    expect(final).to_have_count(1)
    expect(final.locator(".bubble")).to_have_text(f"Last close was {close}, marked on the chart.")
    expect(final.locator(".bubble strong")).to_have_text("Last close")
    cite = final.locator(".bubble button.cite")
    expect(cite).to_have_count(1)
    expect(cite).to_have_text(close)
    expect(cite).to_have_attribute("data-cite", READ_BARS_ID)
    expect(final.locator(".msg-usage")).to_have_text(f"{MODEL} · 220 tokens · $0.0001")

    # It streamed: the page showed the answer growing, a part at a time, before the stored message.
    streamed: list[str] = page.evaluate("window.__streamed")
    growing = [t for t in streamed if t.startswith("Last close")]
    assert len(growing) >= 3, streamed
    assert all(len(a) < len(b) for a, b in itertools.pairwise(growing)), growing
    assert all(f"Last close was {close}, marked on the chart.".startswith(t) for t in growing), growing
    assert any(t.startswith(f"DEMO closed at {close}") for t in streamed), streamed
    # Over the events socket (each socket has every event), without a reload of the page.
    streams = []
    for received in frames.values():
        chat = [json.loads(f) for f in received if '"chat_response"' in f]
        ends = [e["state"] for e in chat if e["step"] == "done"]
        streams.append(("".join(e["text"] for e in chat if e["step"] == "delta"), ends))
    assert (f"DEMO closed at {close}; marking that bar.{seen['answer']}", ["complete"]) in streams, streams
    assert page.evaluate("window.__sameDocument") is True

    # The tool cards: read_bars done, and opened, the bars it read with the last close.
    bars_card = pane.get_by_role("group", name="Tool read_bars")
    expect(bars_card).to_have_count(1)
    expect(bars_card).to_have_attribute("data-state", "done")
    expect(bars_card.locator(".tool-summary")).to_contain_text("5 1d bars of DEMO")
    head = bars_card.locator(".tool-head")
    expect(head).to_have_attribute("aria-expanded", "false")
    expect(bars_card.locator(".tool-body")).to_have_count(0)
    head.click()
    expect(head).to_have_attribute("aria-expanded", "true")
    expect(bars_card.locator(".tool-args pre")).to_contain_text('"limit": 5')
    bars_card.locator(".tool-json summary", has_text="Result").click()
    result = json.loads(bars_card.locator(".tool-json pre").inner_text())
    assert result["symbol"] == "DEMO"
    assert result["bars"][-1]["close"] == seen["close"]
    assert result["bars"][-1]["ts"] == seen["iso"]
    head.click()
    expect(bars_card.locator(".tool-body")).to_have_count(0)
    # A cited number opens the card it came from.
    cite.click()
    expect(head).to_have_attribute("aria-expanded", "true")
    show_card = pane.get_by_role("group", name="Tool show_on_chart")
    expect(show_card).to_have_attribute("data-state", "done")

    # -- 2. Open on chart: the marker is drawn on the last bar -----------------------------------
    refs = final.locator("[data-testid=chart-references] .ref")
    expect(refs).to_have_count(2)  # the bars read (a span) and the marker
    marker_ref = final.locator(".ref[data-kind=marker]")
    expect(marker_ref.locator(".ref-text")).to_have_text("Last close · DEMO 1d")
    marker_ref.get_by_role("button", name="Open on chart").click()
    page.wait_for_function(
        """([sel, ts]) => { const c = document.querySelector(sel);
                            if (!c || c.dataset.loading !== "false" || !c.dataset.evidence) return false;
                            const e = JSON.parse(c.dataset.evidence);
                            return e.kind === "marker" && e.drawn && e.at.includes(ts); }""",
        arg=[CHART, seen["ts"]],
    )
    evidence = json.loads(page.locator(CHART).get_attribute("data-evidence") or "{}")
    assert evidence == {"kind": "marker", "drawn": True, "at": [seen["ts"]]}
    expect(page.locator("[data-testid=evidence-note]")).to_have_attribute("data-kind", "marker")
    expect(page.locator("[data-testid=evidence-note] .evidence-text")).to_have_text("Last close")
    query = parse_qs(urlparse(page.url).query)
    assert query["table"] == [demo_day_table(server)]
    assert int(query["from"][0]) <= seen["ts"] - 30 * DAY_MS
    assert int(query["to"][0]) >= seen["ts"] + 30 * DAY_MS
    page.screenshot(path="/tmp/analysis-assistant.png")

    # -- 3. A writing tool: asked first, run once the user says so -------------------------------
    send(pane, "Save a moving-average crossover for it")
    create_card = pane.get_by_role("group", name="Tool create_strategy")
    expect(create_card).to_have_attribute("data-state", "awaiting_confirmation", timeout=TURN_TIMEOUT_MS)
    idle(pane)
    expect(create_card.locator(".tool-state")).to_have_text("awaiting your answer")
    expect(create_card.locator(".tool-writes")).to_have_text("writes")
    run = create_card.get_by_role("button", name="Run", exact=True)
    expect(run).to_be_enabled()
    expect(create_card.get_by_role("button", name="Don't run")).to_be_enabled()
    expect(create_card.locator(".tool-args pre")).to_contain_text(STRATEGY_NAME)
    expect(pane.get_by_label("Message the assistant")).to_be_disabled()
    with api(server) as client:  # nothing written before Run
        assert STRATEGY_NAME not in {s["name"] for s in client.get("/api/v1/strategies/list").json()}
    run.click()
    expect(create_card).to_have_attribute("data-state", "done", timeout=TURN_TIMEOUT_MS)
    expect(create_card.get_by_role("button", name="Run", exact=True)).to_have_count(0)
    expect(create_card.get_by_role("button", name="Don't run")).to_have_count(0)
    expect(create_card.locator(".tool-state")).to_have_text("done")
    expect(create_card.locator("[data-testid=apply-strategy]")).to_be_visible()
    idle(pane)
    reply = assistant.filter(has_text="as strategy")
    expect(reply.locator(".bubble")).to_have_text(f"Saved {STRATEGY_NAME} as strategy {seen['strategy_id']}.")
    expect(reply.locator(".bubble em")).to_have_text(STRATEGY_NAME)
    expect(reply.locator("button.cite")).to_have_attribute("data-cite", CREATE_ID)
    expect(pane.get_by_label("Message the assistant")).to_be_enabled()
    assert llm.pending == 0
    assert llm.errors == []

    # Saved for the analyst, with the code the model wrote; the conversation is stored as shown.
    with api(server) as client:
        strategy = client.get(f"/api/v1/strategies/{seen['strategy_id']}").json()
        assert (strategy["name"], strategy["code"], strategy["author"]) == (
            STRATEGY_NAME,
            STRATEGY_CODE,
            USER["username"],
        )
        history = client.get("/api/v1/chat/history").json()
        (session,) = history["sessions"]
        assert session["state"] == "complete"
        messages = client.get("/api/v1/chat/history", params={"session_id": session["session_id"]}).json()[
            "messages"
        ]
    contents = [m["content"] for m in messages if m["role"] == "assistant"]
    assert seen["answer"] in contents
    calls = [(c["name"], c["state"]) for m in messages for c in m["tool_calls"]]
    assert calls == [("read_bars", "done"), ("show_on_chart", "done"), ("create_strategy", "done")]
    assert llm.requests[0]["model"] == MODEL
    assert llm.requests[0]["stream"] is True
    assert page.evaluate("window.__sameDocument") is True
