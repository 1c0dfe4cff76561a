"""The web app's files: a missing file is a 404, a client-side route gets ``index.html``.

A tab left open across a deploy asks for the previous build's hashed assets; answering those with
the HTML page would run HTML as script. A 404 lets the app notice and reload.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import msgspec
import pytest

from api.runtime import Runtime
from tests.conftest import app_client

INDEX = "<!doctype html><title>K2 Quant</title><script type=module src=/assets/index-abc123.js></script>"
SCRIPT = "console.log('k2q');"


@pytest.fixture
async def web(clean: Runtime, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """An anonymous client of an app serving a small build."""
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(INDEX)
    (dist / "assets" / "index-abc123.js").write_text(SCRIPT)
    (dist / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    serving = dataclasses.replace(clean, settings=msgspec.structs.replace(clean.settings, web_dist=dist))
    async with app_client(serving) as http:
        yield http


@pytest.mark.parametrize(
    "path",
    [
        "/assets/nonexistent.js",
        "/assets/index-old999.css",
        "/assets/",
        "/assets/fonts/inter.woff2",
        "/assets/no-extension",
        "/favicon.ico",
        "/robots.txt",
        "/analysis/chart.png",
        "/analysis.js",
    ],
)
async def test_a_missing_file_is_404(web: httpx.AsyncClient, path: str):
    answer = await web.get(path)
    assert answer.status_code == 404, (path, answer.headers.get("content-type"))
    assert "text/html" not in answer.headers["content-type"]
    assert "<!doctype html>" not in answer.text


@pytest.mark.parametrize(
    "path",
    ["/", "/analysis", "/login", "/fetch/", "/admin/users/bob", "/analysis?symbol=BRK.B", "/index.html"],
)
async def test_a_page_route_gets_index_html(web: httpx.AsyncClient, path: str):
    answer = await web.get(path)
    assert answer.status_code == 200, path
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.text == INDEX
    assert answer.headers["cache-control"] == "no-cache"


async def test_files_that_exist_are_served(web: httpx.AsyncClient):
    script = await web.get("/assets/index-abc123.js")
    assert script.status_code == 200
    assert script.text == SCRIPT
    assert "javascript" in script.headers["content-type"]
    assert script.headers["cache-control"] == "public, max-age=31536000, immutable"
    icon = await web.get("/favicon.svg")
    assert icon.status_code == 200
    assert icon.headers["content-type"].startswith("image/svg+xml")
