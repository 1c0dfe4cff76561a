"""Providers that hand request handlers what the runtime holds."""

from __future__ import annotations

from litestar.datastructures import State
from litestar.di import NamedDependency

from api.runtime import Runtime
from pipelines.services import Services


def provide_runtime(state: State) -> Runtime:
    """The process's runtime (set on the app at creation)."""
    runtime: Runtime = state.runtime
    return runtime


def provide_services(state: State) -> Services:
    """The services of the process's runtime."""
    return provide_runtime(state).services


RuntimeDep = NamedDependency[Runtime]
"""A handler parameter named ``runtime`` receives the process's runtime."""

ServicesDep = NamedDependency[Services]
"""A handler parameter named ``services`` receives the runtime's services."""
