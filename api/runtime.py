"""The running platform: settings, stores, services and the job queue, built once."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from arq import create_pool
from arq.connections import ArqRedis

from api.auth.service import AuthService
from api.lock import DataDirLock
from api.settings import AssistantSettings, Settings
from api.stack import Stack, start_stack
from pipelines.assistant.providers.anthropic_messages import AnthropicMessages
from pipelines.assistant.providers.openai_chat import OpenAIChat
from pipelines.charts.exports import Exporter
from pipelines.charts.joins import SliceJoins
from pipelines.charts.slices import ChartSlices
from pipelines.datasets import DatasetService
from pipelines.indicators.calculate import IndicatorCalculator
from pipelines.indicators.joins import IndicatorJoiner
from pipelines.indicators.outputs import IndicatorOutputs
from pipelines.ingest.fetch import Fetcher
from pipelines.ingest.flat_files import FlatFileLoader
from pipelines.ingest.sources.base import BarSource
from pipelines.ingest.sources.polygon_rest import PolygonRestSource
from pipelines.ingest.sources.synthetic import SyntheticSource
from pipelines.jobs.queue import QUEUE_NAME
from pipelines.llm import ModelConfig, Provider
from pipelines.projections.joins import ProjectionJoiner
from pipelines.projections.service import Projections
from pipelines.publish import EventPublisher
from pipelines.quality.assessor import QualityAssessor
from pipelines.series.versions import SeriesVersions
from pipelines.series.writes import BarWriter
from pipelines.services import Services
from pipelines.strategies.catalog import StrategyCatalog
from pipelines.strategies.joins import TradeJoiner
from pipelines.strategies.runs import StrategyRuns
from pipelines.strategies.screens import Screener
from pipelines.work_pool import WorkPool
from warehouse.catalog.agents import AgentTaskRepository
from warehouse.catalog.api_keys import ApiKeyRepository
from warehouse.catalog.audit import AuditRepository
from warehouse.catalog.chat import ChatRepository
from warehouse.catalog.claims import ClaimRepository
from warehouse.catalog.datasets import DatasetRepository
from warehouse.catalog.fetch_windows import FetchWindowRepository
from warehouse.catalog.indicator_outputs import IndicatorOutputRepository
from warehouse.catalog.jobs import JobRepository
from warehouse.catalog.projections import ProjectionRepository
from warehouse.catalog.quality import QualityRepository
from warehouse.catalog.sessions import SessionRepository
from warehouse.catalog.strategies import StrategyRepository
from warehouse.catalog.strategy_runs import StrategyRunRepository
from warehouse.catalog.users import UserRepository
from warehouse.clickhouse.bars import BarStore
from warehouse.clickhouse.flat_files import FlatFileStore, S3Access
from warehouse.clickhouse.indicator_values import IndicatorValueStore
from warehouse.clickhouse.projection_values import ProjectionValueStore
from warehouse.metrics import process_ended


@dataclass
class Runtime:
    """Everything a process of K2 Quant holds open."""

    settings: Settings
    stack: Stack
    services: Services
    queue: ArqRedis
    sources: dict[str, BarSource]
    auth: AuthService

    @classmethod
    async def start(cls, settings: Settings) -> Runtime:
        """Start the stores and build the services on them."""
        stack = await start_stack(settings)
        try:
            bars = BarStore(stack.clickhouse)
            await bars.ensure_schema()
            catalog = DatasetRepository(stack.pool)
            versions = SeriesVersions(stack.redis)
            writer = BarWriter(bars, catalog, versions, ClaimRepository(stack.pool))
            sources: dict[str, BarSource] = {"synthetic": SyntheticSource()}
            if settings.polygon.api_key:
                sources["polygon"] = PolygonRestSource(
                    settings.polygon.api_key,
                    base_url=settings.polygon.base_url,
                    max_in_flight=settings.polygon.max_in_flight,
                    requests_per_minute=settings.polygon.requests_per_minute,
                )
            quality = QualityAssessor(catalog, bars, QualityRepository(stack.pool))
            flat_files = FlatFileStore(stack.clickhouse, s3_access(settings))
            work = WorkPool(settings.work_slots, settings.work_queue)
            publisher = EventPublisher(stack.redis)
            indicators = IndicatorOutputs(
                bars,
                IndicatorValueStore(stack.clickhouse),
                IndicatorOutputRepository(stack.pool),
                versions,
                work,
                publisher,
            )
            runs = StrategyRunRepository(stack.pool)
            projection_records = ProjectionRepository(stack.pool)
            projection_values = ProjectionValueStore(stack.clickhouse)
            strategies = StrategyCatalog(StrategyRepository(stack.pool))
            charts = ChartSlices(
                catalog,
                bars,
                versions,
                # the one list of column prefixes joined to slices
                SliceJoins(
                    [
                        IndicatorJoiner(indicators),
                        ProjectionJoiner(projection_records, projection_values),
                        TradeJoiner(runs),
                    ]
                ),
                work=work,
                hot_cache_bytes=settings.hot_cache_mb * 1024 * 1024,
            )
            services = Services(
                bars=bars,
                catalog=catalog,
                jobs=JobRepository(stack.pool),
                datasets=DatasetService(catalog, bars, versions, indicators.forget_series),
                charts=charts,
                fetcher=Fetcher(
                    sources,
                    bars,
                    catalog,
                    versions,
                    windows=FetchWindowRepository(stack.pool),
                    quality=quality,
                    writer=writer,
                ),
                publisher=publisher,
                versions=versions,
                exporter=Exporter(catalog, bars),
                quality=quality,
                flat_files=FlatFileLoader(flat_files, bars, catalog, versions, quality, writer=writer),
                writer=writer,
                work=work,
                indicators=indicators,
                indicator_calculator=IndicatorCalculator(charts, indicators, publisher),
                strategies=strategies,
                strategy_runs=StrategyRuns(strategies, runs, charts, bars, versions, publisher),
                screener=Screener(catalog, bars, work),
                projections=Projections(charts, bars, projection_records, projection_values),
                model=ModelConfig(chat_provider(settings.assistant), settings.assistant.daily_tokens),
                chats=ChatRepository(stack.pool),
                agent_tasks=AgentTaskRepository(stack.pool),
            )
            queue = await create_pool(stack.arq_settings, default_queue_name=QUEUE_NAME)
            auth = AuthService(
                settings.auth,
                settings.auth.secret_key or _local_secret(settings.stores.data_dir.resolve()),
                UserRepository(stack.pool),
                ApiKeyRepository(stack.pool),
                SessionRepository(stack.pool),
                AuditRepository(stack.pool),
                stack.redis,
            )
        except BaseException:
            await stack.close()
            raise
        return cls(settings=settings, stack=stack, services=services, queue=queue, sources=sources, auth=auth)

    async def close(self) -> None:
        """Close the queue, the sources and the stores."""
        with contextlib.suppress(Exception):
            await self.queue.aclose()
        for source in self.sources.values():
            close = getattr(source, "aclose", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    await close()
        if self.services.model.provider is not None:
            with contextlib.suppress(Exception):
                await self.services.model.provider.aclose()
        self.services.work.close()
        await self.stack.close()
        process_ended()


def chat_provider(config: AssistantSettings) -> Provider | None:
    """The assistant's model provider from the settings (``None`` when none is configured)."""
    openai_provider = (
        OpenAIChat(
            config.openai_model,
            api_key=config.openai_api_key,
            base_url=config.openai_base_url,
            timeout=config.request_timeout,
        )
        if config.openai_configured
        else None
    )
    anthropic_provider = (
        AnthropicMessages(
            config.anthropic_model,
            api_key=config.anthropic_api_key,
            base_url=config.anthropic_base_url,
            timeout=config.request_timeout,
        )
        if config.anthropic_configured
        else None
    )
    if config.provider == "anthropic":
        return anthropic_provider or openai_provider
    return openai_provider or anthropic_provider


def s3_access(settings: Settings) -> S3Access:
    """Where flat files in S3 are read from, with the credentials from the environment."""
    config = settings.flat_files
    return S3Access(
        endpoint=config.s3_endpoint,
        access_key_id=config.access_key_id,
        secret_access_key=config.secret_access_key,
    )


def _local_secret(data_dir: Path) -> str:
    """The signing secret of an embedded install: generated once, kept readable by its owner only."""
    path = data_dir / "secret.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


@contextlib.asynccontextmanager
async def local_runtime(settings: Settings) -> AsyncIterator[Runtime]:
    """A runtime for a ``k2q`` command in this process, holding the data dir as ``k2q up`` would.

    Raises:
        DataDirBusy: another process holds the data dir.
    """
    lock = DataDirLock(settings.stores.data_dir.resolve())
    lock.acquire()
    try:
        runtime = await Runtime.start(settings)
        try:
            yield runtime
        finally:
            await runtime.close()
    finally:
        lock.release()
