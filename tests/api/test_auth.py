"""Access control over the real app: the route × role matrix, tokens, sessions, throttles, audit."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

import httpx
import jwt
import msgspec
import pytest

from api.app import create_app
from api.auth.credentials import hash_password
from api.auth.service import FAILURES_PER_USER, LOGIN_WINDOW_S
from api.auth.tokens import issue_access_token
from api.runtime import Runtime
from schemas.datasets import FetchRequest
from tests.conftest import app_client, drain_jobs

PASSWORD = "correct horse battery"

# (method, path, body, least role); None = public
ROUTES: list[tuple[str, str, dict[str, object] | None, str | None]] = [
    ("GET", "/health", None, None),
    ("GET", "/ready", None, None),
    ("GET", "/api/v1/stocks/tables", None, "viewer"),
    ("POST", "/api/v1/stocks/chart-data", {"symbol": "ABC"}, "viewer"),
    ("GET", "/api/v1/stocks/data/abc_1day_2024-01-02_2024-01-31", None, "viewer"),
    ("GET", "/api/v1/jobs/" + "0" * 32, None, "viewer"),
    ("GET", "/api/v1/auth/me", None, "viewer"),
    ("GET", "/api/v1/auth/api-keys", None, "viewer"),
    ("GET", "/api/v1/indicators/list", None, "viewer"),
    ("POST", "/api/v1/indicators/calculate", {"symbol": "ZZZ", "indicators": ["rsi"]}, "analyst"),
    ("POST", "/api/v1/stocks/fetch", {"symbols": ["ZZZ"], "from": "2024-01-02", "to": "2024-01-05",
                                      "source": "synthetic"}, "analyst"),
    ("DELETE", "/api/v1/stocks/table/no_such_table", None, "admin"),
    ("GET", "/api/v1/admin/users", None, "admin"),
    ("GET", "/api/v1/admin/api-keys", None, "admin"),
    ("GET", "/api/v1/admin/audit", None, "admin"),
    ("POST", "/api/v1/admin/users", {"username": "newbie", "password": PASSWORD, "role": "viewer"}, "admin"),
]  # fmt: skip

RANK = {"viewer": 1, "analyst": 2, "admin": 3}


@pytest.fixture
async def keys(clean: Runtime) -> dict[str, str]:
    """A user and an API key per role (the session admin exists already)."""
    auth = clean.auth
    async with clean.stack.pool.connection() as conn:
        await conn.execute("DELETE FROM users WHERE username NOT IN ('admin')")
        await conn.execute("TRUNCATE audit_log, sessions, login_tokens")
    result = {}
    for role in ("viewer", "analyst", "admin"):
        name = f"{role}1"
        await auth.users.create(name, hash_password(PASSWORD), role)
        result[role] = (await auth.create_key(name, "test", None, None)).key
    return result


async def test_every_route_declares_who_may_call_it(runtime: Runtime):
    app = create_app(runtime)
    undeclared = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if getattr(handler, "http_methods", None) == {"OPTIONS"}:
                continue  # Litestar's own preflight answers, which expose nothing
            if not (handler.opt.get("public") or handler.opt.get("role")):
                undeclared.append(f"{sorted(getattr(handler, 'http_methods', []))} {route.path}")
    assert not undeclared


async def test_role_matrix(clean: Runtime, keys: dict[str, str]):
    await clean.services.fetcher.run(
        msgspec.convert({"symbols": ["ABC"], "from": "2024-01-02", "to": "2024-01-31", "source": "synthetic"},
                        FetchRequest)
    )  # fmt: skip
    for method, path, body, least in ROUTES:
        async with app_client(clean) as anonymous:
            answer = await anonymous.request(method, path, json=body)
            assert answer.status_code == (401 if least else 200), (method, path, answer.text)
        for role, key in keys.items():
            async with app_client(clean, key) as http:
                answer = await http.request(method, path, json=body)
            allowed = least is None or RANK[role] >= RANK[least]
            if allowed:
                assert answer.status_code not in (401, 403), (role, method, path, answer.text)
            else:
                assert answer.status_code == 403, (role, method, path, answer.text)
                assert answer.headers["content-type"] == "application/problem+json"


async def test_anonymous_ready_shows_no_internals(clean: Runtime, keys):
    async with app_client(clean) as anonymous:
        assert (await anonymous.get("/ready")).json() == {"ok": True}
    async with app_client(clean, keys["viewer"]) as viewer:
        assert set((await viewer.get("/ready")).json()["stores"]) == {"clickhouse", "postgres", "redis"}


async def login(
    http: httpx.AsyncClient, username: str = "viewer1", password: str = PASSWORD
) -> httpx.Response:
    return await http.post("/api/v1/auth/login", json={"username": username, "password": password})


async def test_browser_session_cookies_csrf_refresh_logout(clean: Runtime, keys):
    async with app_client(clean) as http:
        answer = await login(http, "analyst1")
        assert answer.status_code == 200, answer.text
        session = answer.json()
        assert session["user"] == {"username": "analyst1", "role": "analyst"}
        cookies = answer.headers.get_list("set-cookie")
        assert any(
            c.startswith("k2q_access=")
            and "HttpOnly" in c
            and "SameSite=strict" in c.replace("SameSite=Strict", "SameSite=strict")
            for c in cookies
        )
        assert any(c.startswith("k2q_refresh=") and "Path=/api/v1/auth" in c for c in cookies)
        assert (await http.get("/api/v1/auth/me")).json() == {
            "username": "analyst1",
            "role": "analyst",
            "auth": "session",
        }

        body = {"symbols": ["ZZZ"], "from": "2024-01-02", "to": "2024-01-05", "source": "synthetic"}
        assert (await http.post("/api/v1/stocks/fetch", json=body)).status_code == 403  # no CSRF header
        wrong = await http.post("/api/v1/stocks/fetch", json=body, headers={"X-CSRF-Token": "guess"})
        assert wrong.status_code == 403
        csrf = {"X-CSRF-Token": session["csrf_token"]}
        assert (await http.post("/api/v1/stocks/fetch", json=body, headers=csrf)).status_code == 202

        old_refresh = http.cookies.get("k2q_refresh")
        refreshed = await http.post("/api/v1/auth/refresh", headers=csrf)
        assert refreshed.status_code == 200
        assert http.cookies.get("k2q_refresh") != old_refresh
        csrf = {"X-CSRF-Token": refreshed.json()["csrf_token"]}

        # A replayed (stolen) refresh token ends the session for everyone.
        async with app_client(clean) as thief:
            thief.cookies.set("k2q_refresh", old_refresh or "", path="/api/v1/auth")
            thief.cookies.set("k2q_csrf", "x")
            assert (
                await thief.post("/api/v1/auth/refresh", headers={"X-CSRF-Token": "x"})
            ).status_code == 401
        assert (await http.get("/api/v1/auth/me")).status_code == 401

        await login(http, "analyst1")
        access = http.cookies.get("k2q_access")
        csrf = {"X-CSRF-Token": http.cookies.get("k2q_csrf") or ""}
        assert (await http.post("/api/v1/auth/logout", headers=csrf)).status_code == 204
    async with app_client(clean) as replay:
        replay.cookies.set("k2q_access", access or "")
        assert (await replay.get("/api/v1/auth/me")).status_code == 401  # logout revoked the session

    async with app_client(clean) as stale:  # the access token expired: logout still ends the session
        await login(stale, "analyst1")
        refresh = stale.cookies.get("k2q_refresh") or ""
        stale.cookies.delete("k2q_access")
        answer = await stale.post(
            "/api/v1/auth/logout", headers={"X-CSRF-Token": stale.cookies.get("k2q_csrf") or ""}
        )
        assert answer.status_code == 204
    async with app_client(clean) as thief:
        thief.cookies.set("k2q_refresh", refresh, path="/api/v1/auth")
        thief.cookies.set("k2q_csrf", "x")
        assert (await thief.post("/api/v1/auth/refresh", headers={"X-CSRF-Token": "x"})).status_code == 401


async def test_forged_expired_and_revoked_credentials_are_rejected(clean: Runtime, keys):
    async with app_client(clean) as http:
        await login(http, "admin1")
        access = http.cookies.get("k2q_access") or ""
    header, payload, signature = access.split(".")
    claims = jwt.decode(access, options={"verify_signature": False})
    sid = uuid.UUID(claims["sid"])
    secret = clean.auth.secret
    forged = {
        "tampered": f"{header}.{payload}.{signature[:-4]}AAAA",
        "alg none": jwt.encode({**claims, "exp": claims["exp"]}, key="", algorithm="none"),
        "other algorithm": jwt.encode(claims, secret, algorithm="HS512"),
        "other secret": jwt.encode(claims, "not-the-secret-" * 4, algorithm="HS256"),
        "expired": issue_access_token(secret, "admin1", sid, dt.timedelta(seconds=-5))[0],
        "unknown session": issue_access_token(secret, "admin1", uuid.uuid4(), dt.timedelta(minutes=5))[0],
        "garbage": "eyJ.not.a.token",
    }
    for label, token in forged.items():
        for carrier in ("bearer", "cookie"):
            async with app_client(clean) as http:
                if carrier == "bearer":
                    http.headers["Authorization"] = f"Bearer {token}"
                else:
                    http.cookies.set("k2q_access", token)
                assert (await http.get("/api/v1/auth/me")).status_code == 401, (label, carrier)

    auth = clean.auth
    expiring = await auth.create_key(
        "viewer1", "short", None, dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    )
    revoked = await auth.create_key("viewer1", "revoked", None, None)
    await auth.keys.revoke(revoked.info.prefix)
    async with clean.stack.pool.connection() as conn:
        await conn.execute(
            "UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE prefix = %s",
            (expiring.info.prefix,),
        )
    deactivated = await auth.create_key("analyst1", "owner leaves", None, None)
    await auth.users.update("analyst1", is_active=False)
    for key in (expiring.key, revoked.key, deactivated.key, "k2q_" + "x" * 43, keys["viewer"] + "x"):
        async with app_client(clean, key) as http:
            assert (await http.get("/api/v1/auth/me")).status_code == 401
    async with app_client(clean, keys["viewer"]) as http:
        assert (await http.get("/api/v1/auth/me")).status_code == 200
        assert (
            await http.get("/api/v1/auth/me", headers={"Authorization": "Basic dmlld2VyMTp4"})
        ).status_code == 401


async def test_keys_never_exceed_their_owner(clean: Runtime, keys):
    async with app_client(clean, keys["viewer"]) as viewer:
        too_high = await viewer.post("/api/v1/auth/api-keys", json={"name": "escalate", "role": "admin"})
        assert too_high.status_code == 403
        created = await viewer.post("/api/v1/auth/api-keys", json={"name": "notebook"})
        assert created.status_code == 201
        key, info = created.json()["key"], created.json()["info"]
        assert key.startswith(info["prefix"])
        assert info["role"] == "viewer"
        listed = (await viewer.get("/api/v1/auth/api-keys")).json()
        assert key not in str(listed)
        assert info["prefix"] in str(listed)
    async with app_client(clean, keys["admin"]) as admin:
        await admin.patch("/api/v1/admin/users/analyst1", json={"role": "viewer"})
    async with app_client(clean, keys["analyst"]) as demoted:  # an analyst key of a user now a viewer
        assert (await demoted.get("/api/v1/auth/me")).json()["role"] == "viewer"


async def test_a_new_sign_in_link_revokes_the_earlier_ones(clean: Runtime, keys):
    auth = clean.auth
    admin, viewer = await auth.users.get("admin1"), await auth.users.get("viewer1")
    printed_before = await auth.login_link(admin)
    viewers = await auth.login_link(viewer)
    printed_now = await auth.login_link(admin)

    async def spend(token: str) -> str | int:
        async with app_client(clean) as http:
            answer = await http.post("/api/v1/auth/token-login", json={"token": token})
            return answer.json()["user"]["username"] if answer.status_code == 200 else answer.status_code

    assert await spend(printed_before) == 401
    assert await spend(printed_now) == "admin1"
    assert await spend(printed_now) == 401  # once
    assert await spend(viewers) == "viewer1"  # another user's link is not touched
    unused = await auth.login_link(viewer)
    await auth.revoke_login_links(viewer)  # what a start that prints no link does
    assert await spend(unused) == 401


async def test_brute_force_is_throttled_across_two_app_instances(clean: Runtime, keys):
    async with app_client(clean) as first, app_client(clean) as second:
        for attempt in range(5):
            answer = await (first if attempt % 2 else second).post(
                "/api/v1/auth/login", json={"username": "viewer1", "password": f"wrong{attempt}"}
            )
            assert answer.status_code == 401
            assert answer.json()["detail"] == "wrong user name or password"
        throttled = await second.post(
            "/api/v1/auth/login", json={"username": "viewer1", "password": PASSWORD}
        )
        assert throttled.status_code == 429
        assert int(throttled.headers["retry-after"]) > 0
        other_user = await first.post(
            "/api/v1/auth/login", json={"username": "analyst1", "password": PASSWORD}
        )
        assert other_user.status_code == 200
    async with app_client(clean, keys["admin"]) as admin:
        audit = (
            await admin.get("/api/v1/admin/audit", params={"action": "auth.", "outcome": "denied"})
        ).json()
    assert sum(entry["action"] == "auth.login" for entry in audit) == 5
    assert any(entry["action"] == "auth.throttled" and entry["status"] == 429 for entry in audit)


async def test_rate_limit_is_shared_by_replicas(clean: Runtime, keys):
    auth_settings = msgspec.structs.replace(clean.settings.auth, rate_limit_per_minute=6)
    tight = dataclasses.replace(clean, settings=msgspec.structs.replace(clean.settings, auth=auth_settings))
    async with app_client(tight, keys["viewer"]) as one, app_client(tight, keys["viewer"]) as two:
        codes = [(await (one if i % 2 else two).get("/api/v1/auth/me")).status_code for i in range(8)]
        assert codes[:6] == [200] * 6
        assert codes[6:] == [429, 429]
        limited = await one.get("/api/v1/auth/me")
        assert int(limited.headers["retry-after"]) > 0
    async with app_client(tight, keys["analyst"]) as other:
        assert (await other.get("/api/v1/auth/me")).status_code == 200  # counted per key


async def test_a_throttled_sign_in_names_one_wait(clean: Runtime, keys):
    async with app_client(clean) as http:
        for attempt in range(FAILURES_PER_USER):
            assert (await login(http, "viewer1", f"wrong{attempt}")).status_code == 401
        throttled = await login(http, "viewer1")
    assert throttled.status_code == 429
    wait = int(throttled.headers["retry-after"])
    assert LOGIN_WINDOW_S - 10 <= wait <= LOGIN_WINDOW_S
    assert throttled.json()["detail"] == f"too many failed sign-ins; try again in {wait} s"


async def test_only_refusals_carry_retry_after(clean: Runtime, keys):
    auth_settings = msgspec.structs.replace(clean.settings.auth, rate_limit_per_minute=3)
    tight = dataclasses.replace(clean, settings=msgspec.structs.replace(clean.settings, auth=auth_settings))
    async with app_client(tight, keys["viewer"]) as http, app_client(tight) as anonymous:
        answers = [await http.get("/api/v1/auth/me"), await http.get("/api/v1/jobs/" + "0" * 32)]
        answers.append(await anonymous.get("/api/v1/auth/me"))
        assert [answer.status_code for answer in answers] == [200, 404, 401]
        for answer in answers:
            assert "retry-after" not in answer.headers, answer.request.url
        assert answers[0].headers["ratelimit-remaining"] == "2"
        await http.get("/api/v1/auth/me")
        limited = await http.get("/api/v1/auth/me")
    assert limited.status_code == 429
    assert 0 < int(limited.headers["retry-after"]) <= 60
    assert limited.headers["retry-after"] == limited.headers["ratelimit-reset"]


async def test_writes_are_audited(clean: Runtime, keys):
    async with app_client(clean, keys["analyst"]) as analyst:
        body = {"symbols": ["AUD"], "from": "2024-01-02", "to": "2024-01-05", "source": "synthetic"}
        assert (await analyst.post("/api/v1/stocks/fetch", json=body)).status_code == 202
        assert (
            await analyst.delete("/api/v1/stocks/table/aud_1day_2024-01-02_2024-01-05")
        ).status_code == 403
        assert (await analyst.post("/api/v1/stocks/chart-data", json={"symbol": "AUD"})).status_code == 404
    await drain_jobs(clean)
    async with app_client(clean, keys["admin"]) as admin:
        entries = (
            await admin.get(
                "/api/v1/admin/audit", params={"actor": "analyst1 (key " + keys["analyst"][:12] + ")"}
            )
        ).json()
    actions = [(e["action"], e["outcome"], e["status"]) for e in entries]
    assert ("POST /api/v1/stocks/fetch", "ok", 202) in actions
    assert ("DELETE /api/v1/stocks/table/{table}", "denied", 403) in actions
    assert not any("chart-data" in e["action"] for e in entries)  # a read, though sent as POST
    assert all(e["ip"] == "127.0.0.1" for e in entries)


async def test_security_headers(clean: Runtime, keys):
    async with app_client(clean, keys["viewer"]) as http:
        answer = await http.get("/api/v1/stocks/tables")
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    assert answer.headers["x-content-type-options"] == "nosniff"


async def test_injection_attempts_change_nothing(clean: Runtime, keys):
    await clean.services.fetcher.run(
        msgspec.convert({"symbols": ["ABC"], "from": "2024-01-02", "to": "2024-01-31", "source": "synthetic"},
                        FetchRequest)
    )  # fmt: skip

    async def counts() -> tuple[int, int, int]:
        bars = await clean.stack.clickhouse.run(
            lambda c: c.query("SELECT count() FROM bars").result_rows[0][0]
        )
        async with clean.stack.pool.connection() as conn:
            datasets = (await (await conn.execute("SELECT count(*) FROM datasets")).fetchone())[0]
            users = (await (await conn.execute("SELECT count(*) FROM users")).fetchone())[0]
        return bars, datasets, users

    before = await counts()
    sql = "'; DROP TABLE bars; --"
    attempts = [
        ("POST", "/api/v1/stocks/chart-data", {"symbol": sql}),
        ("POST", "/api/v1/stocks/chart-data", {"table": sql}),
        ("POST", "/api/v1/stocks/chart-data", {"symbol": "ABC", "timeframe": "1d; DROP TABLE bars"}),
        ("POST", "/api/v1/stocks/chart-data", {"symbol": "ABC", "from": "2024-01-01' OR '1'='1"}),
        ("GET", "/api/v1/stocks/data/abc_1day' OR '1'='1", None),
        ("GET", "/api/v1/stocks/data/..%2F..%2Fetc%2Fpasswd", None),
        ("GET", "/api/v1/stocks/data/abc_1day_2024-01-02_2024-01-31?limit=1;DROP", None),
        ("GET", "/api/v1/stocks/data/abc_1day_2024-01-02_2024-01-31?offset=-1", None),
        ("DELETE", "/api/v1/stocks/table/abc' OR 1=1 --", None),
        ("DELETE", "/api/v1/stocks/table/..%2Fdatasets", None),
        ("POST", "/api/v1/stocks/fetch", {"symbols": [sql], "from": "2024-01-01", "to": "2024-01-02"}),
        ("POST", "/api/v1/admin/users", {"username": "x'; DROP TABLE users; --", "password": PASSWORD}),
        ("PATCH", "/api/v1/admin/users/admin' OR '1'='1", {"role": "viewer"}),
        ("GET", "/api/v1/admin/audit?outcome=ok' OR 1=1", None),
    ]
    async with app_client(clean, keys["admin"]) as admin:
        for method, path, body in attempts:
            answer = await admin.request(method, path, json=body)
            assert 400 <= answer.status_code < 500, (method, path, answer.status_code, answer.text)
        oversized = b'{"symbol": "' + b"A" * 2_000_000 + b'"}'
        huge = await admin.post(
            "/api/v1/stocks/chart-data", content=oversized, headers={"content-type": "application/json"}
        )
        assert huge.status_code == 413
    assert await counts() == before
