"""The services a request handler, a job or the CLI works through, built once at start-up."""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.charts.exports import Exporter
from pipelines.charts.slices import ChartSlices
from pipelines.datasets import DatasetService
from pipelines.indicators.calculate import IndicatorCalculator
from pipelines.indicators.outputs import IndicatorOutputs
from pipelines.ingest.fetch import Fetcher
from pipelines.ingest.flat_files import FlatFileLoader
from pipelines.llm import ModelConfig
from pipelines.projections.service import Projections
from pipelines.publish import EventPublisher
from pipelines.quality.assessor import QualityAssessor
from pipelines.series.versions import SeriesVersions
from pipelines.series.writes import BarWriter
from pipelines.strategies.catalog import StrategyCatalog
from pipelines.strategies.runs import StrategyRuns
from pipelines.strategies.screens import Screener
from pipelines.work_pool import WorkPool
from warehouse.catalog.agents import AgentTaskRepository
from warehouse.catalog.chat import ChatRepository
from warehouse.catalog.datasets import DatasetRepository
from warehouse.catalog.jobs import JobRepository
from warehouse.clickhouse.bars import BarStore


@dataclass(frozen=True, slots=True)
class Services:
    """Everything K2 Quant's work goes through (the composition root builds it)."""

    bars: BarStore
    catalog: DatasetRepository
    jobs: JobRepository
    datasets: DatasetService
    charts: ChartSlices
    """Chart slices: plan, cut (hot cache or ClickHouse), join ``ind:``… columns."""
    fetcher: Fetcher
    publisher: EventPublisher
    versions: SeriesVersions
    exporter: Exporter
    quality: QualityAssessor
    flat_files: FlatFileLoader
    writer: BarWriter
    """The one write path for bars: insert, version bump, dataset registration."""
    work: WorkPool
    """Admits heavy requests and runs their blocking steps off the event loop."""
    indicators: IndicatorOutputs
    """Indicator outputs stored over whole series: computed, extended, read."""
    indicator_calculator: IndicatorCalculator
    strategies: StrategyCatalog
    """Stored strategies: parsed before they are stored, versioned."""
    strategy_runs: StrategyRuns
    """Backtests, sweeps and walk-forward runs: checked, executed as jobs, stored, announced."""
    screener: Screener
    """Screens of one expression over every stored series."""
    projections: Projections
    """Projections: computed as jobs, stored, scored, evaluated."""
    model: ModelConfig
    """The assistant's chat model (or none) and each user's daily token budget."""
    chats: ChatRepository
    """Chat sessions and messages."""
    agent_tasks: AgentTaskRepository
    """Agent tasks, their steps and model usage."""
