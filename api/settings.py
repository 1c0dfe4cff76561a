"""Settings: one frozen tree, read once from the environment by :meth:`Settings.from_env`.

Nothing else in K2 Quant reads ``os.environ``. Settings are passed in to whatever needs them.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path

import msgspec

from pipelines.work_pool import DEFAULT_QUEUE, DEFAULT_SLOTS

DEFAULT_POLYGON_BASE_URL = "https://api.polygon.io"
DEFAULT_POLYGON_WS_URL = "wss://socket.polygon.io/stocks"
DEFAULT_S3_ENDPOINT = "https://files.polygon.io"
DEFAULT_OPENAI_MODEL = "gpt-4.1-mini"
DEFAULT_ANTHROPIC_MODEL = "claude-sonnet-4-5"


class ServerSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Where the HTTP server listens."""

    host: str = "127.0.0.1"
    """Interface to bind (``K2Q_HOST``). Anything beyond loopback needs authentication."""
    port: int = 8000
    """TCP port (``K2Q_PORT``)."""

    @property
    def is_loopback(self) -> bool:
        """Whether the bind address is reachable only from this machine."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    @property
    def url(self) -> str:
        """The base URL a browser on this machine opens."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host  # noqa: S104
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"


class StoreSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Where the stores live; an absent URL means the embedded store under the data directory."""

    data_dir: Path = Path(".k2q")
    """Data directory for the embedded stores, the lock file and logs (``K2Q_DATA_DIR``)."""
    clickhouse_url: str | None = None
    """ClickHouse server URL, e.g. ``http://user:pass@host:8123/db`` (``CLICKHOUSE_URL``)."""
    database_url: str | None = None
    """PostgreSQL URL, e.g. ``postgresql://user:pass@host/db`` (``DATABASE_URL``)."""
    redis_url: str | None = None
    """Redis URL, e.g. ``redis://host:6379/0`` (``REDIS_URL``)."""


class PolygonSettings(msgspec.Struct, frozen=True, kw_only=True):
    """The Polygon.io (Massive) market-data API."""

    api_key: str | None = None
    """API key (``POLYGON_API_KEY``); without it the demo loads synthetic data instead."""
    base_url: str = DEFAULT_POLYGON_BASE_URL
    """API base URL (``POLYGON_BASE_URL``); the old host and the Massive host both work."""
    max_in_flight: int = 50
    """Requests in flight at once across every window, symbol and job (``POLYGON_MAX_IN_FLIGHT``)."""
    requests_per_minute: int = 0
    """Requests started per rolling minute, e.g. 5 on a free plan (``POLYGON_RPM``; 0: unlimited)."""
    ws_url: str = DEFAULT_POLYGON_WS_URL
    """Stocks WebSocket for ``k2q stream`` (``POLYGON_WS_URL``); ``wss://delayed.polygon.io/stocks`` on
    plans with 15-minute delayed data."""


class FlatFileSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Where ``k2q backfill --flat-files s3://…`` reads Polygon's flat files from."""

    s3_endpoint: str = DEFAULT_S3_ENDPOINT
    """S3-compatible endpoint (``K2Q_S3_ENDPOINT``): Polygon's by default; ``https://s3.amazonaws.com``
    or any S3-compatible store holding a copy."""
    access_key_id: str | None = None
    """S3 access key (``AWS_ACCESS_KEY_ID``); Polygon's flat-file keys are on its dashboard."""
    secret_access_key: str | None = None
    """S3 secret key (``AWS_SECRET_ACCESS_KEY``); without both keys requests go unsigned."""


class AuthSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Who may use K2 Quant, and how hard we make guessing."""

    secret_key: str | None = None
    """Signs session tokens (``K2Q_SECRET_KEY``); embedded mode keeps a generated one in the data dir.
    Required to serve beyond loopback or to run several API replicas."""
    admin_user: str = "admin"
    """Name of the first admin, created when there is none (``K2Q_ADMIN_USER``)."""
    admin_password: str | None = None
    """Password of the first admin (``K2Q_ADMIN_PASSWORD``); without it, sign in by the one-time link."""
    bootstrap_api_key: str | None = None
    """An admin API key accepted as given, for automation (``K2Q_BOOTSTRAP_API_KEY``)."""
    cors_origins: tuple[str, ...] = ()
    """Origins allowed to call the API from a browser, comma-separated (``K2Q_CORS_ORIGINS``)."""
    trusted_proxies: tuple[str, ...] = ()
    """Proxies whose ``X-Forwarded-For`` names the client: IPs and CIDRs, comma-separated
    (``K2Q_TRUSTED_PROXIES``). From any other peer the header is ignored."""
    rate_limit_per_minute: int = 1200
    """Requests per minute per API key, user or address (``K2Q_RATE_LIMIT``)."""
    access_token_minutes: int = 15
    refresh_token_days: int = 7


class AssistantSettings(msgspec.Struct, frozen=True, kw_only=True):
    """The AI assistant's model providers, and what it may spend."""

    openai_api_key: str | None = None
    """OpenAI key (``OPENAI_API_KEY``); a local OpenAI-compatible server may need none."""
    openai_base_url: str | None = None
    """An OpenAI-compatible endpoint, e.g. a local model server's ``http://127.0.0.1:11434/v1``
    (``OPENAI_BASE_URL``); setting it alone configures the OpenAI path."""
    openai_model: str = DEFAULT_OPENAI_MODEL
    """Chat Completions model (``K2Q_OPENAI_MODEL``)."""
    anthropic_api_key: str | None = None
    """Anthropic key (``ANTHROPIC_API_KEY``)."""
    anthropic_base_url: str | None = None
    """Anthropic endpoint (``ANTHROPIC_BASE_URL``; default Anthropic's)."""
    anthropic_model: str = DEFAULT_ANTHROPIC_MODEL
    """Messages model (``K2Q_ANTHROPIC_MODEL``)."""
    provider: str | None = None
    """``openai`` or ``anthropic`` when both are configured (``K2Q_ASSISTANT_PROVIDER``; default OpenAI)."""
    daily_tokens: int = 1_000_000
    """Model tokens (input + output) each user may spend per rolling 24 hours, chat and agents
    together (``K2Q_ASSISTANT_DAILY_TOKENS``)."""
    request_timeout: float = 120.0
    """Seconds a model call may take (``K2Q_ASSISTANT_TIMEOUT``)."""

    @property
    def openai_configured(self) -> bool:
        """A key or an OpenAI-compatible endpoint is set."""
        return bool(self.openai_api_key or self.openai_base_url)

    @property
    def anthropic_configured(self) -> bool:
        """An Anthropic key is set."""
        return bool(self.anthropic_api_key)


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Every setting of K2 Quant."""

    server: ServerSettings = msgspec.field(default_factory=ServerSettings)
    auth: AuthSettings = msgspec.field(default_factory=AuthSettings)
    stores: StoreSettings = msgspec.field(default_factory=StoreSettings)
    polygon: PolygonSettings = msgspec.field(default_factory=PolygonSettings)
    flat_files: FlatFileSettings = msgspec.field(default_factory=FlatFileSettings)
    assistant: AssistantSettings = msgspec.field(default_factory=AssistantSettings)
    web_dist: Path | None = None
    """Built web app to serve at ``/`` (``K2Q_WEB_DIST``; default ``web/dist`` when it exists)."""
    log_format: str = "auto"
    """``json``, ``console`` or ``auto`` (console on a terminal, JSON otherwise) (``K2Q_LOG_FORMAT``)."""
    seed_demo: bool = True
    """Load synthetic demo data on ``k2q up`` when no Polygon key is set (``K2Q_SEED_DEMO``)."""
    live_demo: bool = True
    """With the demo data, run a synthetic live feed for the demo symbols (``K2Q_LIVE_DEMO``)."""
    hot_cache_mb: int = 256
    """Memory for recently charted months of fine bars, per process (``K2Q_HOT_CACHE_MB``; 0 = off)."""
    work_slots: int = DEFAULT_SLOTS
    """Heavy requests (charts, pages, quality) running at once (``K2Q_WORK_SLOTS``)."""
    work_queue: int = DEFAULT_QUEUE
    """Heavy requests waiting for a slot; more get 503 with ``Retry-After`` (``K2Q_WORK_QUEUE``)."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every setting from ``environ`` (default: the process environment).

        Raises:
            ValueError: a variable holds a value that cannot be used.
        """
        env = os.environ if environ is None else environ

        def text(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        def integer(name: str, default: int) -> int:
            raw = text(name)
            if raw is None:
                return default
            try:
                return int(raw)
            except ValueError:
                raise ValueError(f"{name} must be an integer, not {raw!r}") from None

        port = integer("K2Q_PORT", 8000)
        origins = tuple(
            origin.strip() for origin in (text("K2Q_CORS_ORIGINS") or "").split(",") if origin.strip()
        )
        if not 0 <= port <= 65535:
            raise ValueError(f"K2Q_PORT must be between 0 and 65535, not {port}")
        if (in_flight := integer("POLYGON_MAX_IN_FLIGHT", 50)) < 1:
            raise ValueError(f"POLYGON_MAX_IN_FLIGHT must be at least 1, not {in_flight}")
        if (rpm := integer("POLYGON_RPM", 0)) < 0:
            raise ValueError(f"POLYGON_RPM must be 0 (unlimited) or more, not {rpm}")
        web_dist = text("K2Q_WEB_DIST")
        provider = (text("K2Q_ASSISTANT_PROVIDER") or "").lower() or None
        if provider not in (None, "openai", "anthropic"):
            raise ValueError(f"K2Q_ASSISTANT_PROVIDER must be openai or anthropic, not {provider!r}")
        if (daily_tokens := integer("K2Q_ASSISTANT_DAILY_TOKENS", 1_000_000)) < 0:
            raise ValueError(f"K2Q_ASSISTANT_DAILY_TOKENS must be 0 or more, not {daily_tokens}")
        timeout = integer("K2Q_ASSISTANT_TIMEOUT", 120)
        if timeout < 1:
            raise ValueError(f"K2Q_ASSISTANT_TIMEOUT must be at least 1 second, not {timeout}")
        proxies = tuple(
            entry.strip() for entry in (text("K2Q_TRUSTED_PROXIES") or "").split(",") if entry.strip()
        )
        for proxy in proxies:
            try:
                ipaddress.ip_network(proxy)
            except ValueError:
                raise ValueError(
                    f"K2Q_TRUSTED_PROXIES takes IP addresses and networks (CIDR), not {proxy!r}"
                ) from None
        return cls(
            server=ServerSettings(host=text("K2Q_HOST") or "127.0.0.1", port=port),
            stores=StoreSettings(
                data_dir=Path(text("K2Q_DATA_DIR") or ".k2q"),
                clickhouse_url=text("CLICKHOUSE_URL"),
                database_url=text("DATABASE_URL"),
                redis_url=text("REDIS_URL"),
            ),
            polygon=PolygonSettings(
                api_key=text("POLYGON_API_KEY"),
                base_url=text("POLYGON_BASE_URL") or DEFAULT_POLYGON_BASE_URL,
                max_in_flight=in_flight,
                requests_per_minute=rpm,
                ws_url=text("POLYGON_WS_URL") or DEFAULT_POLYGON_WS_URL,
            ),
            flat_files=FlatFileSettings(
                s3_endpoint=text("K2Q_S3_ENDPOINT") or DEFAULT_S3_ENDPOINT,
                access_key_id=text("AWS_ACCESS_KEY_ID"),
                secret_access_key=text("AWS_SECRET_ACCESS_KEY"),
            ),
            auth=AuthSettings(
                secret_key=text("K2Q_SECRET_KEY"),
                admin_user=(text("K2Q_ADMIN_USER") or "admin").lower(),
                admin_password=text("K2Q_ADMIN_PASSWORD"),
                bootstrap_api_key=text("K2Q_BOOTSTRAP_API_KEY"),
                cors_origins=origins,
                trusted_proxies=proxies,
                rate_limit_per_minute=integer("K2Q_RATE_LIMIT", 1200),
            ),
            assistant=AssistantSettings(
                openai_api_key=text("OPENAI_API_KEY"),
                openai_base_url=text("OPENAI_BASE_URL"),
                openai_model=text("K2Q_OPENAI_MODEL") or DEFAULT_OPENAI_MODEL,
                anthropic_api_key=text("ANTHROPIC_API_KEY"),
                anthropic_base_url=text("ANTHROPIC_BASE_URL"),
                anthropic_model=text("K2Q_ANTHROPIC_MODEL") or DEFAULT_ANTHROPIC_MODEL,
                provider=provider,
                daily_tokens=daily_tokens,
                request_timeout=float(timeout),
            ),
            web_dist=Path(web_dist) if web_dist else None,
            log_format=text("K2Q_LOG_FORMAT") or "auto",
            seed_demo=(text("K2Q_SEED_DEMO") or "1").lower() not in ("0", "false", "no"),
            live_demo=(text("K2Q_LIVE_DEMO") or "1").lower() not in ("0", "false", "no"),
            hot_cache_mb=integer("K2Q_HOT_CACHE_MB", 256),
            work_slots=integer("K2Q_WORK_SLOTS", DEFAULT_SLOTS),
            work_queue=integer("K2Q_WORK_QUEUE", DEFAULT_QUEUE),
        )


ENVIRONMENT_VARIABLES: tuple[str, ...] = (
    "K2Q_DATA_DIR",
    "K2Q_HOST",
    "K2Q_PORT",
    "K2Q_WEB_DIST",
    "K2Q_LOG_FORMAT",
    "K2Q_SEED_DEMO",
    "K2Q_LIVE_DEMO",
    "K2Q_HOT_CACHE_MB",
    "K2Q_WORK_SLOTS",
    "K2Q_WORK_QUEUE",
    "CLICKHOUSE_URL",
    "DATABASE_URL",
    "REDIS_URL",
    "POLYGON_API_KEY",
    "POLYGON_BASE_URL",
    "POLYGON_MAX_IN_FLIGHT",
    "POLYGON_RPM",
    "POLYGON_WS_URL",
    "K2Q_S3_ENDPOINT",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "K2Q_SECRET_KEY",
    "K2Q_ADMIN_USER",
    "K2Q_ADMIN_PASSWORD",
    "K2Q_BOOTSTRAP_API_KEY",
    "K2Q_CORS_ORIGINS",
    "K2Q_TRUSTED_PROXIES",
    "K2Q_RATE_LIMIT",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "K2Q_OPENAI_MODEL",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "K2Q_ANTHROPIC_MODEL",
    "K2Q_ASSISTANT_PROVIDER",
    "K2Q_ASSISTANT_DAILY_TOKENS",
    "K2Q_ASSISTANT_TIMEOUT",
)
"""Every variable :meth:`Settings.from_env` reads; the README documents each (a test checks)."""
