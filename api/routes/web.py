"""The built web app at ``/``: files when they exist, ``index.html`` for client-side routes."""

from __future__ import annotations

from pathlib import Path

from litestar import Router, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import File


def web_router(dist: Path) -> Router:
    """Serve ``dist`` (a Vite build) with a single-page-app fallback."""
    root = dist.resolve()
    index = root / "index.html"

    @get(["/", "/{path:path}"], include_in_schema=False, sync_to_thread=False, cache_control=None)
    def serve(path: FromPath[str] = "") -> File:
        if path.startswith(("api/", "/api/")):
            raise NotFoundException(f"no route {path}")
        candidate = (root / path.lstrip("/")).resolve()
        if candidate.is_file() and candidate.is_relative_to(root):
            return File(candidate)
        return File(index, content_disposition_type="inline", media_type="text/html")

    return Router(path="/", route_handlers=[serve])
