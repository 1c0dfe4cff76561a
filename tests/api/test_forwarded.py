"""Who the client is: ``X-Forwarded-For`` counts only when a proxy named in ``K2Q_TRUSTED_PROXIES`` sent it.

The rate limiter, the sign-in throttle and the audit log all take the address from
:func:`api.auth.addresses.client_address`. The app runs under uvicorn as ``k2q up`` runs it, so a
proxy-header rewrite by the server itself would show here too.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator

import httpx
import msgspec
import pytest

from api.auth.addresses import forwarded_client, trusted_networks
from api.auth.credentials import hash_password
from api.auth.service import FAILURES_PER_NAME, FAILURES_PER_USER
from api.runtime import Runtime
from api.settings import Settings
from tests.process import serve_app

PASSWORD = "correct horse battery"


@pytest.fixture
async def user(clean: Runtime) -> str:
    """A viewer ``trader`` with :data:`PASSWORD`; an empty audit log."""
    async with clean.stack.pool.connection() as conn:
        await conn.execute("DELETE FROM users WHERE username <> 'admin'")
        await conn.execute("TRUNCATE audit_log, sessions, login_tokens")
    await clean.auth.users.create("trader", hash_password(PASSWORD), "viewer")
    return "trader"


def configured(runtime: Runtime, *, proxies: tuple[str, ...] = (), per_minute: int | None = None) -> Runtime:
    """``runtime`` with other auth settings (trusted proxies, rate limit)."""
    auth = msgspec.structs.replace(runtime.settings.auth, trusted_proxies=proxies)
    if per_minute is not None:
        auth = msgspec.structs.replace(auth, rate_limit_per_minute=per_minute)
    return dataclasses.replace(runtime, settings=msgspec.structs.replace(runtime.settings, auth=auth))


@contextlib.asynccontextmanager
async def http_over(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    async with serve_app(runtime) as address, httpx.AsyncClient(base_url=f"http://{address}") as http:
        yield http


def via(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


async def sign_in(http: httpx.AsyncClient, password: str, address: str, name: str = "trader") -> int:
    answer = await http.post(
        "/api/v1/auth/login", json={"username": name, "password": password}, headers=via(address)
    )
    return answer.status_code


async def audit_ips(http: httpx.AsyncClient, admin_key: str) -> set[str]:
    answer = await http.get(
        "/api/v1/admin/audit",
        params={"action": "auth.", "limit": 500},
        headers={"Authorization": f"Bearer {admin_key}"},
    )
    assert answer.status_code == 200, answer.text
    return {entry["ip"] for entry in answer.json()}


async def test_forged_forwarded_for_does_not_escape_the_sign_in_throttle(clean, user, admin_key):
    async with http_over(clean) as http:
        codes = [await sign_in(http, f"wrong{i}", f"198.51.100.{i}") for i in range(30)]
        assert codes == [401] * FAILURES_PER_USER + [429] * (30 - FAILURES_PER_USER)
        assert await sign_in(http, PASSWORD, "198.51.100.99") == 429
        assert await audit_ips(http, admin_key) == {"127.0.0.1"}  # the peer, never a forged address


async def test_forged_forwarded_for_does_not_escape_the_rate_limit(clean):
    async with http_over(configured(clean, per_minute=6)) as http:
        codes = [
            (await http.get("/api/v1/auth/me", headers=via(f"198.51.100.{i}"))).status_code for i in range(9)
        ]
        assert codes == [401] * 6 + [429] * 3


async def test_a_trusted_proxy_names_the_client(clean, user, admin_key):
    async with http_over(configured(clean, proxies=("127.0.0.0/8",), per_minute=6)) as http:
        first = [
            (await http.get("/api/v1/auth/me", headers=via("203.0.113.1"))).status_code for _ in range(7)
        ]
        assert first == [401] * 6 + [429]
        # A client cannot hide behind entries of its own: the proxy appends the address it saw.
        spoofed = await http.get("/api/v1/auth/me", headers=via("10.1.2.3, 203.0.113.1"))
        assert spoofed.status_code == 429
        assert (await http.get("/api/v1/auth/me", headers=via("203.0.113.2"))).status_code == 401
        assert await sign_in(http, "wrong", "203.0.113.3") == 401
        assert await sign_in(http, "wrong", "10.1.2.3, 203.0.113.4") == 401
        assert await audit_ips(http, admin_key) == {"203.0.113.3", "203.0.113.4"}


async def test_sign_in_is_throttled_per_user_name_across_addresses(clean, user, admin_key):
    async with http_over(configured(clean, proxies=("127.0.0.1",))) as http:
        codes = [await sign_in(http, f"wrong{i}", f"203.0.113.{i}") for i in range(30)]
        assert codes == [401] * FAILURES_PER_NAME + [429] * (30 - FAILURES_PER_NAME)
        assert await sign_in(http, PASSWORD, "203.0.113.200") == 429  # the right password, too late
        await clean.auth.users.create("other", hash_password(PASSWORD), "viewer")
        assert await sign_in(http, PASSWORD, "203.0.113.200", name="other") == 200  # others still sign in
        ips = await audit_ips(http, admin_key)
        assert {f"203.0.113.{i}" for i in range(30)} <= ips
        assert "127.0.0.1" not in ips


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("192.0.2.9", ["203.0.113.1"], "192.0.2.9"),  # not a trusted proxy: its header is ignored
        ("10.0.0.5", ["203.0.113.1"], "203.0.113.1"),
        ("10.0.0.5", [], "10.0.0.5"),  # a trusted proxy that forwarded nobody
        ("10.0.0.5", ["198.51.100.7, 203.0.113.1"], "203.0.113.1"),  # the client's own entries don't count
        ("10.0.0.5", ["198.51.100.7", "203.0.113.1, 10.0.0.6"], "203.0.113.1"),  # two headers, two proxies
        ("10.0.0.5", ["10.0.0.7, 10.0.0.6"], "10.0.0.7"),  # every hop trusted: the first one
        ("10.0.0.5", ["203.0.113.1, not-an-address"], "10.0.0.5"),  # garbage: stop at the last proxy
        ("10.0.0.5", ["203.0.113.1:4711"], "203.0.113.1"),
        ("10.0.0.5", ["[2001:db8::1]:4711"], "2001:db8::1"),
        ("::ffff:10.0.0.5", ["2001:DB8::1"], "2001:db8::1"),
        ("fd00::1", ["203.0.113.1"], "203.0.113.1"),
        (None, ["203.0.113.1"], None),
    ],
)
def test_forwarded_client(peer, forwarded, client):
    trusted = trusted_networks(("10.0.0.0/8", "fd00::1"))
    assert forwarded_client(peer, forwarded, trusted) == client


def test_trusted_proxies_setting():
    settings = Settings.from_env({"K2Q_TRUSTED_PROXIES": " 172.30.80.10, 10.0.0.0/8 ,fd00::/64,, "})
    assert settings.auth.trusted_proxies == ("172.30.80.10", "10.0.0.0/8", "fd00::/64")
    assert Settings.from_env({}).auth.trusted_proxies == ()
    for bad in ("nginx", "10.0.0.0/33", "10.0.0.1/8"):
        with pytest.raises(ValueError, match="K2Q_TRUSTED_PROXIES"):
            Settings.from_env({"K2Q_TRUSTED_PROXIES": bad})
