"""The running platform: settings, stores, services and the job queue, built once."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from arq import create_pool
from arq.connections import ArqRedis

from api.settings import Settings
from api.stack import Stack, start_stack
from pipelines.datasets import DatasetService
from pipelines.fetch import Fetcher
from pipelines.publish import EventPublisher
from pipelines.services import Services
from pipelines.sources.base import BarSource
from pipelines.sources.polygon_rest import PolygonRestSource
from pipelines.sources.synthetic import SyntheticSource
from warehouse.catalog.datasets import DatasetRepository
from warehouse.catalog.jobs import JobRepository
from warehouse.clickhouse.bars import BarStore

QUEUE_NAME = "k2q:queue"


@dataclass
class Runtime:
    """Everything a process of K2 Quant holds open."""

    settings: Settings
    stack: Stack
    services: Services
    queue: ArqRedis
    sources: dict[str, BarSource]

    @classmethod
    async def start(cls, settings: Settings) -> Runtime:
        """Start the stores and build the services on them."""
        stack = await start_stack(settings)
        try:
            bars = BarStore(stack.clickhouse)
            await bars.ensure_schema()
            catalog = DatasetRepository(stack.pool)
            sources: dict[str, BarSource] = {"synthetic": SyntheticSource()}
            if settings.polygon.api_key:
                sources["polygon"] = PolygonRestSource(
                    settings.polygon.api_key,
                    base_url=settings.polygon.base_url,
                    max_in_flight=settings.polygon.max_in_flight,
                )
            services = Services(
                bars=bars,
                catalog=catalog,
                jobs=JobRepository(stack.pool),
                datasets=DatasetService(catalog, bars),
                fetcher=Fetcher(sources, bars, catalog),
                publisher=EventPublisher(stack.redis),
            )
            queue = await create_pool(stack.arq_settings, default_queue_name=QUEUE_NAME)
        except BaseException:
            await stack.close()
            raise
        return cls(settings=settings, stack=stack, services=services, queue=queue, sources=sources)

    async def close(self) -> None:
        """Close the queue, the sources and the stores."""
        with contextlib.suppress(Exception):
            await self.queue.aclose()
        for source in self.sources.values():
            close = getattr(source, "aclose", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    await close()
        await self.stack.close()
