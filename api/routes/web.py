"""The built web app at ``/``: files when they exist, ``index.html`` for client-side routes.

A request for a file that is not there (anything under ``/assets/``, or a last path segment with an
extension: page routes have none) is a 404, never the HTML page: a tab still running an earlier
build asks for assets that are gone, and HTML served as its script would fail in confusing ways
where a 404 lets it reload.
"""

from __future__ import annotations

import mimetypes
import re
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

_FILE_NAME = re.compile(r"\.[A-Za-z0-9]{1,10}$")
"""A last path segment that names a file (``app.js``, ``favicon.ico``), which no page route does."""


def is_file_request(path: str) -> bool:
    """Whether ``path`` (without the leading ``/``) asks for a file rather than a page."""
    first, _, _ = path.partition("/")
    return first == "assets" or bool(_FILE_NAME.search(path.rpartition("/")[2]))


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
        relative = path.lstrip("/")
        if relative.startswith("api/"):
            raise NotFoundException(f"no route {path}")
        candidate = (root / relative).resolve()
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
        if is_file_request(relative) and candidate != index:
            raise NotFoundException(f"no file {path}; reload the page if the app was updated")
        return File(
            index,
            filename="index.html",
            media_type="text/html",
            content_disposition_type="inline",
            headers={"Cache-Control": REVALIDATE},
        )

    return Router(path="/", route_handlers=[serve], opt={**PUBLIC, "authenticate": False})
