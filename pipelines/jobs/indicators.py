"""The indicator job: indicators over a whole stored series (``/indicators/calculate``)."""

from __future__ import annotations

from pipelines.indicators.specs import parse_indicator
from pipelines.jobs.task import JobContext, JobEnd
from schemas.indicators import IndicatorCalculateRequest
from schemas.jobs import SymbolProgress


def progress_labels(request: IndicatorCalculateRequest) -> list[str]:
    """One progress entry per spec, as the request wrote it."""
    return list(dict.fromkeys(request.indicators))


async def calculate_indicators(job: JobContext, request: IndicatorCalculateRequest) -> JobEnd:
    """Compute, store and announce every indicator of ``request``."""
    calculator = job.services.indicator_calculator
    plan = await calculator.plan(request)
    states = await calculator.run(plan, job_id=job.job_id, owner=job.owner)
    by_text = {state.spec.text: state for state in states}
    progress = []
    for label in progress_labels(request):
        state = by_text[parse_indicator(label).text]
        progress.append(SymbolProgress(symbol=label, windows_done=1, windows_total=1, bars=state.rows))
    computed = sum(state.how != "reused" for state in states)
    rows = states[0].rows if states else 0
    message = (
        f"{computed} of {len(states)} indicators computed over {rows:,} {plan.timeframe} buckets"
        f" of {plan.ref.symbol}"
    )
    if computed < len(states):
        message += f"; {len(states) - computed} already stored and current"
    return JobEnd(state="complete", progress=progress, message=message)
