"""Signing in and out, refreshing sessions, API keys and the first admin."""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from dataclasses import dataclass

from redis.asyncio import Redis

from api.auth.credentials import hash_password, new_api_key, new_token, same, token_hash, verify_password
from api.auth.principal import Principal
from api.auth.tokens import InvalidToken, issue_access_token, read_access_token
from api.settings import AuthSettings
from schemas.auth import ApiKeyCreated, Role, Session, SessionUser, outranks
from warehouse.catalog.api_keys import ApiKeyRepository
from warehouse.catalog.audit import AuditRepository
from warehouse.catalog.sessions import SessionRepository
from warehouse.catalog.users import UserRecord, UserRepository

LOGIN_WINDOW_S = 15 * 60
"""Failed sign-ins are counted over this window, which opens with the first failure."""
FAILURES_PER_USER = 5
"""Failed sign-ins allowed per user name and address within the window."""
FAILURES_PER_NAME = 10
"""Failed sign-ins allowed per user name within the window, whatever the address (many addresses
guessing one password); past it even the right password waits for the window to end."""
FAILURES_PER_ADDRESS = 30
"""Failed sign-ins (passwords and links) allowed per address within the window, whatever the name."""
LOGIN_LINK_TTL = dt.timedelta(hours=24)
LOCAL_CLI_KEY_NAME = "k2q CLI (local)"


class AuthError(Exception):
    """Credentials are missing, wrong, expired or revoked (HTTP 401)."""


class Forbidden(Exception):
    """Authenticated, but not allowed (HTTP 403)."""


class Throttled(Exception):
    """Too many failed attempts; retry after ``retry_after`` seconds (HTTP 429)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed sign-ins; try again in {retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class IssuedSession:
    """A session as the browser receives it: the answer body and the cookie values."""

    session: Session
    access_token: str
    refresh_token: str
    refresh_expires_at: dt.datetime


class AuthService:
    """Everything about who is who."""

    def __init__(
        self,
        settings: AuthSettings,
        secret: str,
        users: UserRepository,
        keys: ApiKeyRepository,
        sessions: SessionRepository,
        audit: AuditRepository,
        redis: Redis | None,
    ) -> None:
        self.settings = settings
        self.secret = secret
        self.users = users
        self.keys = keys
        self.sessions = sessions
        self.audit = audit
        self.redis = redis

    # --- browser sessions -------------------------------------------------------------------------

    async def login(
        self, username: str, password: str, ip: str | None, user_agent: str | None
    ) -> IssuedSession:
        """Check a password and open a session.

        Raises:
            Throttled: too many recent failures for this name or address.
            AuthError: unknown user, wrong password or deactivated account (one message for all).
        """
        name = username.strip().lower()
        await self._check_throttle(name, ip)
        user = await self.users.by_name(name)
        valid = verify_password(user.password_hash if user else None, password)
        if user is None or not valid or not user.is_active:
            await self._count_failure(name, ip)
            await self.audit.record(
                actor=name, actor_kind="anonymous", action="auth.login", outcome="denied", status=401, ip=ip
            )
            raise AuthError("wrong user name or password")
        if self.redis is not None:  # this address knows the password; the name-wide count stays
            await self.redis.delete(_user_key(name, ip))
        await self.audit.record(
            actor=name, actor_kind="user", action="auth.login", outcome="ok", status=200, ip=ip
        )
        return await self._open(user, ip, user_agent)

    async def login_with_link(self, token: str, ip: str | None, user_agent: str | None) -> IssuedSession:
        """Spend a one-time login link and open a session.

        Raises:
            Throttled: too many failures from this address.
            AuthError: the link is unknown, used or expired.
        """
        await self._check_throttle(None, ip)
        user_id = await self.sessions.use_login_token(token_hash(token))
        user = await self.users.by_id(user_id) if user_id is not None else None
        if user is None or not user.is_active:
            await self._count_failure(None, ip)
            await self.audit.record(
                actor=None,
                actor_kind="anonymous",
                action="auth.login_link",
                outcome="denied",
                status=401,
                ip=ip,
            )
            raise AuthError(
                "this sign-in link is unknown, used, expired or replaced by a newer one;"
                " k2q up --sign-in-link prints a new one"
            )
        await self.audit.record(
            actor=user.username, actor_kind="user", action="auth.login_link", outcome="ok", status=200, ip=ip
        )
        return await self._open(user, ip, user_agent)

    async def refresh(self, refresh_token: str, ip: str | None) -> IssuedSession:
        """Rotate a session's refresh token and issue a new access token.

        Raises:
            AuthError: the refresh token is malformed, replayed, revoked or expired.
        """
        session_id, _, secret = refresh_token.partition(".")
        try:
            sid = uuid.UUID(session_id)
        except ValueError:
            raise AuthError("not a refresh token") from None
        live = await self.sessions.live(sid)
        if live is None or not same(live.refresh_hash, token_hash(secret)):
            if live is not None:  # a replayed refresh token: someone else may hold the session
                await self.sessions.revoke(sid)
                await self.audit.record(
                    actor=live.username,
                    actor_kind="user",
                    action="auth.refresh_replayed",
                    outcome="denied",
                    ip=ip,
                )
            raise AuthError("the session has ended; sign in again")
        new_secret = new_token()
        if not await self.sessions.rotate(sid, live.refresh_hash, token_hash(new_secret)):
            raise AuthError("the session has ended; sign in again")
        return self._issue(live.username, live.role, sid, f"{sid}.{new_secret}", live.expires_at)

    async def logout(self, principal: Principal | None, refresh_token: str | None, ip: str | None) -> None:
        """End the session of ``principal``, or the one ``refresh_token`` names (its access token expired)."""
        session_id = principal.session_id if principal is not None else None
        actor = principal.actor if principal is not None else None
        if session_id is None and refresh_token:
            sid, _, secret = refresh_token.partition(".")
            with contextlib.suppress(ValueError):
                live = await self.sessions.live(uuid.UUID(sid))
                if live is not None and same(live.refresh_hash, token_hash(secret)):
                    session_id, actor = live.id, live.username
        if session_id is not None:
            await self.sessions.revoke(session_id)
        await self.audit.record(
            actor=actor, actor_kind="user", action="auth.logout", outcome="ok", status=204, ip=ip
        )

    async def _open(self, user: UserRecord, ip: str | None, user_agent: str | None) -> IssuedSession:
        secret = new_token()
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=self.settings.refresh_token_days)
        sid = await self.sessions.create(user.id, token_hash(secret), expires, ip, user_agent)
        return self._issue(user.username, user.role, sid, f"{sid}.{secret}", expires)

    def _issue(
        self, username: str, role: Role, sid: uuid.UUID, refresh: str, refresh_expires: dt.datetime
    ) -> IssuedSession:
        lifetime = dt.timedelta(minutes=self.settings.access_token_minutes)
        access, access_expires = issue_access_token(self.secret, username, sid, lifetime)
        session = Session(
            user=SessionUser(username=username, role=role),
            csrf_token=new_token(),
            access_expires_at=access_expires,
        )
        return IssuedSession(
            session=session, access_token=access, refresh_token=refresh, refresh_expires_at=refresh_expires
        )

    # --- authenticating requests ------------------------------------------------------------------

    async def from_access_token(self, token: str) -> Principal | None:
        """The principal of a valid, unrevoked session token; the role is the user's current one."""
        try:
            _, sid = read_access_token(self.secret, token)
        except InvalidToken:
            return None
        live = await self.sessions.live(sid)
        if live is None:
            return None
        return Principal(username=live.username, role=live.role, auth="session", session_id=sid)

    async def from_api_key(self, key: str) -> Principal | None:
        """The principal of a live API key: its role, capped by its owner's current role."""
        record = await self.keys.by_hash(token_hash(key))
        now = dt.datetime.now(dt.UTC)
        if (
            record is None
            or record.revoked_at is not None
            or (record.expires_at is not None and record.expires_at <= now)
            or not record.user_active
        ):
            return None
        await self.keys.touch(record.id)
        role = record.role if outranks(record.user_role, record.role) else record.user_role
        return Principal(username=record.username, role=role, auth="api_key", key_prefix=record.prefix)

    # --- API keys ---------------------------------------------------------------------------------

    async def create_key(
        self,
        owner: str,
        name: str,
        role: Role | None,
        expires_at: dt.datetime | None,
        *,
        given: str | None = None,
    ) -> ApiKeyCreated:
        """Mint a key for ``owner`` with at most the owner's role (``given``: accept that key as is).

        Raises:
            Forbidden: the role is higher than the owner's.
            ValueError: the expiry is in the past.
        """
        user = await self.users.get(owner)
        granted = role or user.role
        if not outranks(user.role, granted):
            raise Forbidden(f"a key cannot have more rights than its owner ({user.role})")
        if expires_at is not None and expires_at <= dt.datetime.now(dt.UTC):
            raise ValueError("expires_at is in the past")
        key, prefix = (given, f"given-{token_hash(given)[:8]}") if given else new_api_key()
        record = await self.keys.create(user.id, name, prefix, token_hash(key), granted, expires_at)
        return ApiKeyCreated(key=key, info=record.info())

    # --- first run --------------------------------------------------------------------------------

    async def ensure_admin(self) -> UserRecord:
        """The first admin: created when no admin exists (``K2Q_ADMIN_USER``, ``K2Q_ADMIN_PASSWORD``)."""
        admin = await self.users.first_admin()
        if admin is not None:
            return admin
        password = self.settings.admin_password
        existing = await self.users.by_name(self.settings.admin_user)
        if existing is not None:
            admin = await self.users.update(existing.username, role="admin", is_active=True)
        else:
            admin = await self.users.create(
                self.settings.admin_user, hash_password(password) if password else None, "admin"
            )
        await self.audit.record(
            actor="k2q",
            actor_kind="system",
            action="auth.bootstrap_admin",
            target=admin.username,
            outcome="ok",
        )
        return admin

    async def ensure_bootstrap_key(self, admin: UserRecord) -> None:
        """Register ``K2Q_BOOTSTRAP_API_KEY`` as an admin key, once."""
        given = self.settings.bootstrap_api_key
        if given and await self.keys.by_hash(token_hash(given)) is None:
            await self.create_key(
                admin.username, "bootstrap (K2Q_BOOTSTRAP_API_KEY)", "admin", None, given=given
            )

    async def login_link(self, user: UserRecord) -> str:
        """A one-time login token for ``user``, valid for a day; the user's earlier unused links die."""
        token = new_token()
        await self.sessions.add_login_token(
            token_hash(token), user.id, dt.datetime.now(dt.UTC) + LOGIN_LINK_TTL
        )
        return token

    async def revoke_login_links(self, user: UserRecord) -> None:
        """End every unused login link of ``user``."""
        await self.sessions.revoke_login_tokens(user.id)

    async def local_cli_key(self, admin: UserRecord) -> str:
        """A fresh admin key for ``k2q`` commands on this machine (older ones are revoked)."""
        await self.keys.revoke_named(admin.id, LOCAL_CLI_KEY_NAME)
        return (await self.create_key(admin.username, LOCAL_CLI_KEY_NAME, "admin", None)).key

    # --- brute-force throttle ---------------------------------------------------------------------

    async def _check_throttle(self, username: str | None, ip: str | None) -> None:
        """Refuse while any count this attempt falls under is full (links count per address only).

        Raises:
            Throttled: with the wait until every full count has expired (the body and
                ``Retry-After`` both say it).
        """
        assert self.redis is not None, "sign-in needs Redis for its throttle"
        waits = []
        for key, limit in _throttle_keys(username, ip):
            if int(await self.redis.get(key) or 0) >= limit:
                waits.append(int(await self.redis.ttl(key)))
        if waits:
            await self.audit.record(
                actor=username or None,
                actor_kind="anonymous",
                action="auth.throttled",
                outcome="denied",
                status=429,
                ip=ip,
            )
            raise Throttled(max(*waits, 1))

    async def _count_failure(self, username: str | None, ip: str | None) -> None:
        assert self.redis is not None
        async with self.redis.pipeline(transaction=True) as pipe:
            for key, _ in _throttle_keys(username, ip):
                pipe.set(key, 0, ex=LOGIN_WINDOW_S, nx=True)  # opens the window (EXPIRE NX needs Redis 7)
                pipe.incr(key)
            await pipe.execute()


def _throttle_keys(username: str | None, ip: str | None) -> list[tuple[str, int]]:
    """The failure counts a sign-in as ``username`` (None: by link) from ``ip`` falls under, with limits."""
    keys = [(_address_key(ip), FAILURES_PER_ADDRESS)]
    if username is not None:
        keys += [(_user_key(username, ip), FAILURES_PER_USER), (_name_key(username), FAILURES_PER_NAME)]
    return keys


def _user_key(username: str, ip: str | None) -> str:
    return f"k2q:login-failures:{ip or '-'}:{token_hash(username)[:16]}"


def _name_key(username: str) -> str:
    return f"k2q:login-failures-name:{token_hash(username)[:16]}"


def _address_key(ip: str | None) -> str:
    return f"k2q:login-failures:{ip or '-'}"
