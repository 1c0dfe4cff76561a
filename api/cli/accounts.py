"""``k2q user`` and ``k2q apikey``: accounts from a terminal, straight on the Postgres catalog.

Postgres serves many processes, so these work whether or not a ``k2q up`` holds the data dir.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import click
from rich.console import Console
from rich.table import Table

from api.auth.credentials import hash_password
from api.auth.service import AuthService
from api.settings import Settings
from api.stack import catalog_url
from schemas.auth import ROLES, Role
from warehouse.catalog.api_keys import ApiKeyRepository
from warehouse.catalog.audit import AuditRepository
from warehouse.catalog.pool import migrate, open_pool
from warehouse.catalog.sessions import SessionRepository
from warehouse.catalog.users import UserRepository

T = TypeVar("T")
MIN_PASSWORD = 10


@contextlib.asynccontextmanager
async def _auth(settings: Settings) -> AsyncIterator[AuthService]:
    """Auth on the catalog: the configured server, the running embedded one, or one started here."""
    async with catalog_url(settings) as url:
        await migrate(url)
        pool = await open_pool(url, max_size=2)
        try:
            yield AuthService(
                settings.auth, "", UserRepository(pool), ApiKeyRepository(pool), SessionRepository(pool),
                AuditRepository(pool), None,
            )  # fmt: skip
        finally:
            await pool.close()


def _run(settings: Settings, work: Callable[[AuthService], Awaitable[T]]) -> T:
    async def go() -> T:
        async with _auth(settings) as auth:
            return await work(auth)

    try:
        return asyncio.run(go())
    except Exception as exc:  # every failure is a one-line message and exit code 1
        click.echo(f"k2q: {exc}", err=True)
        sys.exit(1)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < MIN_PASSWORD:
        click.echo(f"k2q: a password needs at least {MIN_PASSWORD} characters", err=True)
        sys.exit(2)
    return password


async def _audit(auth: AuthService, action: str, target: str) -> None:
    await auth.audit.record(actor="k2q-cli", actor_kind="system", action=action, target=target, outcome="ok")


def register(main: click.Group, load_settings: Callable[[], Settings]) -> None:
    """Add the ``user`` and ``apikey`` groups to ``main``."""

    @main.group()
    def user() -> None:
        """Manage users."""

    @user.command("add")
    @click.argument("username")
    @click.option("--role", type=click.Choice(ROLES), default="viewer", show_default=True)
    @click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
    def user_add(username: str, role: Role, password_stdin: bool) -> None:
        """Add a user."""
        settings = load_settings()
        password = _password(password_stdin)

        async def work(auth: AuthService) -> None:
            await auth.users.create(username.lower(), hash_password(password), role)
            await _audit(auth, "user.create", username.lower())

        _run(settings, work)
        click.echo(f"added {username.lower()} ({role})")

    @user.command("list")
    def user_list() -> None:
        """List users."""
        users = _run(load_settings(), lambda auth: auth.users.all())
        table = Table("user", "role", "active", "created")
        for record in users:
            table.add_row(
                record.username,
                record.role,
                "yes" if record.is_active else "no",
                f"{record.created_at:%Y-%m-%d}",
            )
        Console().print(table)

    @user.command("set-role")
    @click.argument("username")
    @click.argument("role", type=click.Choice(ROLES))
    def user_set_role(username: str, role: Role) -> None:
        """Change a user's role."""

        async def work(auth: AuthService) -> None:
            current = await auth.users.get(username)
            if current.role == "admin" and role != "admin" and await auth.users.count_admins() <= 1:
                raise ValueError("the last active admin cannot be demoted")
            await auth.users.update(username, role=role)
            await _audit(auth, "user.set_role", username)

        _run(load_settings(), work)
        click.echo(f"{username} is now {role}")

    @user.command("passwd")
    @click.argument("username")
    @click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
    def user_passwd(username: str, password_stdin: bool) -> None:
        """Set a user's password (their sessions end)."""
        settings = load_settings()
        password = _password(password_stdin)

        async def work(auth: AuthService) -> None:
            record = await auth.users.update(username, password_hash=hash_password(password))
            await auth.sessions.revoke_user(record.id)
            await _audit(auth, "user.passwd", username)

        _run(settings, work)
        click.echo(f"password of {username} changed")

    @main.group()
    def apikey() -> None:
        """Manage API keys."""

    @apikey.command("create")
    @click.option("--user", "username", required=True, help="Owner of the key.")
    @click.option("--role", type=click.Choice(ROLES), help="At most the owner's role (default: the owner's).")
    @click.option("--name", default="cli", show_default=True, help="What the key is for.")
    @click.option("--expires-days", type=click.IntRange(1, 3650), help="Expire after this many days.")
    def apikey_create(username: str, role: Role | None, name: str, expires_days: int | None) -> None:
        """Create an API key and print it (only the key, so a script can capture it)."""
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=expires_days) if expires_days else None

        async def work(auth: AuthService) -> str:
            created = await auth.create_key(username, name, role, expires)
            await _audit(auth, "auth.api_key.create", created.info.prefix)
            return created.key

        click.echo(_run(load_settings(), work))

    @apikey.command("list")
    @click.option("--user", "username", help="Only this user's keys.")
    def apikey_list(username: str | None) -> None:
        """List API keys (prefixes, never the keys)."""
        records = _run(load_settings(), lambda auth: auth.keys.list(username))
        table = Table("prefix", "user", "name", "role", "last used", "expires", "revoked")
        for record in records:
            table.add_row(
                record.prefix, record.username, record.name, record.role,
                f"{record.last_used_at:%Y-%m-%d %H:%M}" if record.last_used_at else "never",
                f"{record.expires_at:%Y-%m-%d}" if record.expires_at else "—",
                f"{record.revoked_at:%Y-%m-%d}" if record.revoked_at else "",
            )  # fmt: skip
        Console().print(table)

    @apikey.command("revoke")
    @click.argument("prefix")
    def apikey_revoke(prefix: str) -> None:
        """Revoke an API key by its prefix."""

        async def work(auth: AuthService) -> None:
            await auth.keys.revoke(prefix)
            await _audit(auth, "auth.api_key.revoke", prefix)

        _run(load_settings(), work)
        click.echo(f"revoked {prefix}")
