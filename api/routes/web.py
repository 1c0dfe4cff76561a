"""The built web app at ``/``: files when they exist, ``index.html`` for client-side routes."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from litestar import Router, route
from litestar.enums import HttpMethod
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import File

from api.auth.guards import PUBLIC

IMMUTABLE = "public, max-age=31536000, immutable"
"""Vite puts a content hash in every asset name, so an asset never changes under its URL."""

REVALIDATE = "no-cache"
"""``index.html`` names the current assets: always revalidate it."""


def web_router(dist: Path) -> Router:
    """Serve ``dist`` (a Vite build) with a single-page-app fallback."""
    root = dist.resolve()
    index = root / "index.html"

    @route(
        ["/", "/{path:path}"],
        http_method=[HttpMethod.GET, HttpMethod.HEAD],
        include_in_schema=False,
        sync_to_thread=False,
    )
    def serve(path: FromPath[str] = "") -> File:
        if path.lstrip("/").startswith("api/"):
            raise NotFoundException(f"no route {path}")
        candidate = (root / path.lstrip("/")).resolve()
        if candidate.is_file() and candidate.is_relative_to(root) and candidate != index:
            media_type, _ = mimetypes.guess_type(candidate.name)
            cache = IMMUTABLE if candidate.parent.name == "assets" else REVALIDATE
            return File(
                candidate,
                filename=candidate.name,
                media_type=media_type or "application/octet-stream",
                content_disposition_type="inline",
                headers={"Cache-Control": cache},
            )
        return File(
            index,
            filename="index.html",
            media_type="text/html",
            content_disposition_type="inline",
            headers={"Cache-Control": REVALIDATE},
        )

    return Router(path="/", route_handlers=[serve], opt={**PUBLIC, "authenticate": False})
