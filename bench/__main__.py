"""Run every benchmark: ``just bench`` (or ``python -m bench [name ...]``)."""

from __future__ import annotations

import asyncio
import sys

from bench import (
    assistant,
    chart_data,
    chart_scale,
    export,
    flat_files,
    indicators,
    ingest,
    load,
    projections,
    quality,
    rest_pipeline,
    startup,
    strategies,
    write_scale,
)

BENCHES = {
    "assistant": assistant.main,
    "chart_data": chart_data.main,
    "chart_scale": chart_scale.main,
    "export": export.main,
    "flat_files": flat_files.main,
    "indicators": indicators.main,
    "ingest": ingest.main,
    "load": load.main,
    "projections": projections.main,
    "quality": quality.main,
    "rest_pipeline": rest_pipeline.main,
    "startup": startup.main,
    "strategies": strategies.main,
    "write_scale": write_scale.main,
}


def main(names: list[str]) -> None:
    for name in names or list(BENCHES):
        print(f"\n## {name}\n", flush=True)
        asyncio.run(BENCHES[name]())


if __name__ == "__main__":
    main(sys.argv[1:])
