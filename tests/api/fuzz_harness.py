"""A schemathesis pass over every operation of the real app, for each role, collecting 5xx answers.

The app runs under a real uvicorn on loopback, in the test's event loop (the session runtime's stores
belong to that loop); the generated requests are sent from a worker thread, so the loop keeps serving.
Errors the app logs while it answers a request are collected, so a 5xx is reported with its cause.

schemathesis is imported inside the functions that use it (and its pytest plugin is off): importing it
patches Hypothesis globally, which only a session that runs the pass should pay for.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import os
import threading
import traceback
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import uvicorn

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy
    from litestar import Litestar
    from schemathesis import APIOperation, Case

PROJECT_ROOT: Final = Path(__file__).resolve().parents[2]

DESTRUCTIVE_METHODS: Final = frozenset({"DELETE"})
"""Run last, so the data the other operations read is still there while they run."""

_DAY: Final = r"(0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8])"
_CLOCK: Final = r"T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?(Z|[+-](0\d|1[0-4]):[0-5]\d)?"
RECENT_DATE: Final[dict[str, Any]] = {"type": "string", "pattern": rf"^(19[7-9]\d|20[0-2]\d)-{_DAY}$"}
EDGE_DATES: Final = ["0001-01-01", "1800-01-01", "9999-12-31"]
EDGE_TIMES: Final = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", -62_135_596_800_001, 2**63 - 1]
"""Where date and time arithmetic overflows: the ends of the ranges of Python's dates and epoch numbers.
(Generation rarely picks an ``enum`` branch beside ``format`` ones, so edges get a document of their own.)"""
TIME_POINT: Final[dict[str, Any]] = {
    "anyOf": [
        {"type": "string", "pattern": rf"^20(1\d|2[0-6])-{_DAY}({_CLOCK})?$"},
        {"type": "integer", "minimum": 1_500_000_000_000, "maximum": 1_800_000_000_000},
        {"type": "string", "format": "date-time"},
        {"type": "string", "format": "date"},
        {"type": "integer"},
        {"type": "null"},
    ]
}
"""``from``/``to`` as the API documents them in prose (ISO date-times or dates, epoch ms): mostly
near the stored bars, also anywhere a date can be."""

INDICATOR_FORMS: Final = (
    r"^(sma|ema|wma|rsi|bbands|macd|atr|stoch|adx|cci|willr|obv|mavp|mama|t3|kama|sar)"
    r"(\((\d{1,5}|\d{1,3}\.\d)(,\d{1,5})?\))?$"
)

_PRICE: Final = r"\d{1,6}(\.\d{1,4})?"
_CSV_HEAD: Final = r"^(date|timestamp|t),open,high,low,close(,volume)?\n"
_CSV_TIME: Final = rf"(\d{{4}}-{_DAY}({_CLOCK})?|\d{{1,19}})"
CSV_BODY: Final[dict[str, Any]] = {
    "anyOf": [
        {  # a bar the import takes: a recent date, sane prices
            "type": "string",
            "pattern": rf"{_CSV_HEAD}(19[7-9]\d|20[0-2]\d)-{_DAY}(,11){{4}}(,\d{{1,9}})?\n$",
        },
        {"type": "string", "pattern": rf"{_CSV_HEAD}{_CSV_TIME}(,{_PRICE}){{4}}(,\d{{1,9}})?\n$"},
    ]
}
"""A one-row CSV file in the shape ``POST /api/v1/stocks/import`` reads."""


@dataclass(frozen=True)
class Seeds:
    """What exists in the stores when the pass starts."""

    tables: Sequence[str]
    symbols: Sequence[str]
    job_ids: Sequence[str]
    usernames: Sequence[str]
    """Users the pass may change."""
    indicator_names: Sequence[str]


def steer(schema: Mapping[str, Any], seeds: Seeds, *, edges: bool = False) -> dict[str, Any]:
    """A copy of the app's OpenAPI document whose valid inputs are the ones that reach the handlers.

    Names of datasets, symbols, jobs and users are ones that exist; times, indicator specs and the
    CSV body have the shapes the API documents in prose; request bodies take no unknown fields (the
    server refuses them; the document does not say so). Only valid (positive) generation is narrowed:
    negative generation still sends everything outside these schemas. With ``edges``, times and dates
    are only :data:`EDGE_TIMES` and :data:`EDGE_DATES`.
    """
    doc: dict[str, Any] = copy.deepcopy(dict(schema))
    time_point = {"enum": EDGE_DATES + EDGE_TIMES} if edges else TIME_POINT
    components = doc["components"]["schemas"]
    by_name = {"table": seeds.tables, "job_id": seeds.job_ids, "username": seeds.usernames}
    for operations in doc["paths"].values():
        for operation in operations.values():
            for param in operation.get("parameters", []):
                if param["in"] == "path" and param["name"] in by_name:
                    param["schema"] = {"enum": list(by_name[param["name"]])}
                elif param["name"] in ("from", "to"):
                    param["schema"] = time_point
            for content in operation.get("requestBody", {}).get("content", {}).values():
                ref = content["schema"].get("$ref", "")
                if ref.startswith("#/components/schemas/"):
                    components[ref.rsplit("/", 1)[1]]["additionalProperties"] = False

    chart = components["ChartDataRequest"]
    fields = chart["properties"]
    del fields["projections"], fields["run_id"]  # need strategy runs, which the pass does not make
    fields["from"] = fields["to"] = time_point
    fields["indicators"]["maxItems"] = 3  # one bad spec refuses the whole request
    fields["indicators"]["items"] = {
        "anyOf": [{"enum": list(seeds.indicator_names)}, {"type": "string", "pattern": INDICATOR_FORMS}]
    }
    fields["symbol"], fields["table"] = {"enum": list(seeds.symbols)}, {"enum": list(seeds.tables)}
    if edges:  # one edge at a time: the first refused hides the second
        chart["not"] = {"required": ["from", "to"]}
    chart["oneOf"] = [  # exactly one of them
        {"required": ["symbol"], "not": {"required": ["table"]}},
        {"required": ["table"], "not": {"required": ["symbol"]}},
    ]

    components["FetchRequest"]["required"].append("symbols")
    fetch = components["FetchRequest"]["properties"]
    fetch["symbols"] = {
        "type": "array",
        "items": {"anyOf": [{"enum": list(seeds.symbols)}, {"type": "string", "pattern": "^[A-Z]{1,5}$"}]},
        "minItems": 1,
        "maxItems": 5,
    }
    fetch["from"] = fetch["to"] = {"enum": EDGE_DATES} if edges else {"anyOf": [RECENT_DATE, fetch["to"]]}
    components["KeyForUser"]["properties"]["username"] = {"enum": list(seeds.usernames)}
    csv = doc["paths"]["/api/v1/stocks/import"]["post"]["requestBody"]["content"]["text/csv"]
    csv["schema"] = CSV_BODY
    for param in doc["paths"]["/api/v1/stocks/import"]["post"]["parameters"]:
        if param["name"] == "tz":
            param["schema"] = {"enum": ["America/New_York", "UTC", "Asia/Kolkata", "Pacific/Kiritimati"]}
    return doc


@contextlib.asynccontextmanager
async def serve(app: Litestar) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port in this event loop; yield its base URL."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, lifespan="on", log_config=None, access_log=False, log_level="warning"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("uvicorn stopped before it started")
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


class ServerLog(logging.Handler):
    """The errors the app logs (through structlog or the standard library) while it answers."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self._entries: list[str] = []
        self._lock = threading.Lock()
        self._captured: list[MutableMapping[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        event = record.msg if isinstance(record.msg, dict) else {"event": record.getMessage()}
        self._add({"exc_info": record.exc_info, **event})

    def _add(self, event: Mapping[str, Any]) -> None:
        with self._lock:
            self._entries.append(describe(event))

    def take(self) -> list[str]:
        """What was logged since the last call."""
        with self._lock:
            for event in self._captured:
                if event.get("log_level") in ("error", "exception", "critical"):
                    self._entries.append(describe(event))
            self._captured.clear()
            entries, self._entries = self._entries, []
        return entries

    @contextlib.contextmanager
    def capture(self) -> Iterator[ServerLog]:
        """Collect while inside: from the root logger, and from structlog whatever its configuration."""
        import structlog

        root = logging.getLogger()
        root.addHandler(self)
        try:
            with structlog.testing.capture_logs() as captured:
                self._captured = captured
                yield self
        finally:
            root.removeHandler(self)


def describe(event: Mapping[str, Any]) -> str:
    """One logged error as text: its message, then the traceback when one was logged."""
    text = str(event.get("event", ""))
    extra = {k: v for k, v in event.items() if k not in ("event", "exc_info", "log_level", "timestamp")}
    if extra:
        text += f" {extra}"
    info = event.get("exc_info")
    error = info if isinstance(info, BaseException) else info[1] if isinstance(info, tuple) else None
    if error is not None:
        text += "\n" + "".join(traceback.format_exception(error)).rstrip()
    return text


def condensed(entry: str) -> list[str]:
    """A logged traceback cut to its message, the frames in this project and each exception raised."""
    lines = entry.splitlines()
    kept = lines[:1]
    for number, line in enumerate(lines[1:], 1):
        ours = line.strip().startswith(f'File "{PROJECT_ROOT}/') and "/.venv/" not in line
        if ours:
            code = lines[number + 1].strip() if number + 1 < len(lines) else ""
            kept.append(f"  {line.strip().replace(f'{PROJECT_ROOT}/', '')}: {code}")
        elif line and not line[0].isspace() and not line.startswith(("Traceback", "The above", "During")):
            kept.append(line)
    return kept


def cause_of(log: Sequence[str]) -> str:
    """The short cause of a 5xx: the exception logged last and the innermost frame of ours it passed."""
    for entry in log:
        lines = condensed(entry)
        if len(lines) > 1:
            frames = [line for line in lines if line.startswith("  File ")]
            where = frames[-1].split(":")[0].strip() if frames else "(no frame of ours)"
            return f"{lines[-1]} [{where}]"
    return log[0].splitlines()[0] if log else "(nothing logged)"


@dataclass
class Finding:
    """A 5xx: where, for whom, the shortest request that reproduced it, and what the server logged."""

    operation: str
    status: int
    cause: str
    curl: str
    log: list[str]
    roles: set[str] = field(default_factory=set)
    count: int = 0


@dataclass
class Report:
    """Every distinct 5xx of a pass (by operation and cause), and what the pass reached."""

    findings: dict[tuple[str, str], Finding] = field(default_factory=dict)
    statuses: Counter[tuple[str, str, int]] = field(default_factory=Counter)
    """Answers by operation label, caller and status."""

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    def add(self, operation: str, role: str, status: int, curl: str, log: list[str]) -> None:
        cause = cause_of(log)
        finding = self.findings.setdefault(
            (operation, cause), Finding(operation=operation, status=status, cause=cause, curl=curl, log=log)
        )
        finding.roles.add(role)
        finding.count += 1
        if len(curl) < len(finding.curl):  # keep the shortest reproduction
            finding.curl, finding.log = curl, log

    def reached(self, operation: str) -> bool:
        """Whether any caller got a 2xx from ``operation``."""
        return any(200 <= status < 300 for (label, _, status) in self.statuses if label == operation)

    def text(self) -> str:
        blocks = [
            f"{f.status} {f.operation} as {', '.join(sorted(f.roles))} ({f.count}x): {f.cause}\n"
            f"    {f.curl}\n" + "\n".join(f"    | {line}" for entry in f.log for line in condensed(entry))
            for f in self.findings.values()
        ]
        return f"{len(self.findings)} distinct 5xx in {self.requests} requests:\n\n" + "\n\n".join(blocks)


def tolerated(status: int, headers: Mapping[str, str]) -> bool:
    """5xx answers that are the app working as designed, not failing.

    * 504: a query over its time budget (``QueryBudgetExceeded``), a limit the caller can act on;
    * 503 with ``Retry-After``: load shedding (and a store reported unavailable, when it says when to retry);
    * 503 with ``X-K2Q-Unconfigured``: a capability that needs a provider no one configured (the assistant).
    """
    names = {k.lower() for k in headers}
    return status == 504 or (status == 503 and bool(names & {"retry-after", "x-k2q-unconfigured"}))


SCALE_VARIABLE: Final = "K2Q_FUZZ_SCALE"
"""Multiplies the requests per operation and caller: unset (1) in ``just test``, larger in ``just fuzz``."""


def scale() -> int:
    """The whole number in :data:`SCALE_VARIABLE` (1 when unset).

    Raises:
        ValueError: the variable is set to anything but a whole number from 1 to 1,000.
    """
    text = os.environ.get(SCALE_VARIABLE, "").strip() or "1"
    if not text.isdigit() or not 1 <= int(text) <= 1000:
        raise ValueError(f"{SCALE_VARIABLE} must be a whole number from 1 to 1000, not {text!r}")
    return int(text)


def fuzz(
    documents: Sequence[Mapping[str, Any]],
    base_url: str,
    keys: Mapping[str, str | None],
    log: ServerLog,
    *,
    examples: Callable[[str, str], int],
    skip: Callable[[Case[Any]], bool] = lambda case: False,
) -> Report:
    """Send generated requests (valid and invalid) to every operation as every role; collect 5xx.

    Args:
        documents: The API described one or more ways: valid requests are drawn from each in turn,
            invalid ones from the first.
        base_url: Where the app is served.
        keys: The API key of each caller (``None``: anonymous).
        log: Collects what the server logs.
        examples: How many requests for an operation (its label, e.g. ``GET /health``) and caller,
            before the :func:`scale` of the environment multiplies it.
        skip: Cases not to send.

    Blocking: run it in a thread while the event loop serves ``base_url``.
    """
    import hypothesis
    import requests
    import schemathesis
    from schemathesis.checks import not_a_server_error
    from schemathesis.config import OutputConfig, SanitizationConfig, SchemathesisConfig
    from schemathesis.core.result import Err, Ok
    from schemathesis.errors import FailureGroup

    # Reproductions show every value: the keys the pass calls with are not in them.
    config = SchemathesisConfig(output=OutputConfig(sanitization=SanitizationConfig(enabled=False)))
    schemas = [schemathesis.openapi.from_dict(dict(d), config=config) for d in documents]
    described: list[dict[str, APIOperation[Any, Any, Any, Any]]] = []
    for each in schemas:
        results = list(each.get_all_operations())
        if errors := [result.err() for result in results if isinstance(result, Err)]:
            raise errors[0]
        described.append(
            {op.label: op for op in (result.ok() for result in results if isinstance(result, Ok))}
        )
    operations = sorted(described[0].values(), key=lambda op: op.method.upper() in DESTRUCTIVE_METHODS)
    settings = hypothesis.settings(
        derandomize=True,
        database=None,
        deadline=None,
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
        suppress_health_check=list(hypothesis.HealthCheck),
        report_multiple_bugs=False,
    )
    report = Report()
    times = scale()

    def run(
        operation: APIOperation[Any, Any, Any, Any],
        strategy: SearchStrategy[Case[Any]],
        role: str,
        key: str | None,
    ) -> None:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        session = requests.Session()

        @hypothesis.settings(settings, max_examples=examples(operation.label, role) * times)
        @hypothesis.given(case=strategy)
        def exercise(case: Case[Any]) -> None:
            if skip(case):
                return
            log.take()
            response = case.call(base_url=base_url, session=session, headers=headers, timeout=60)
            session.cookies.clear()  # each request stands alone
            report.statuses[operation.label, role, response.status_code] += 1
            if tolerated(response.status_code, response.headers):
                return
            try:
                case.validate_response(response, checks=[not_a_server_error], headers=headers)
            except FailureGroup:
                curl = case.as_curl_command(base_url="http://k2q.test")
                report.add(operation.label, role, response.status_code, curl, log.take())

        with session:
            exercise()

    for operation in operations:
        strategy = hypothesis.strategies.one_of(
            operation.as_strategy(generation_mode=schemathesis.GenerationMode.NEGATIVE),
            *(each[operation.label].as_strategy() for each in described),
        )
        for role, key in keys.items():
            run(operation, strategy, role, key)
    return report
