"""The client's address: the one answer the rate limiter, the sign-in throttle and the audit log use.

``X-Forwarded-For`` is anyone's to write, so it counts only when the peer is a proxy named in
``K2Q_TRUSTED_PROXIES``; then the header is read from the right (each proxy appends the address it
saw) past every trusted proxy, and the first address not trusted is the client. Entries a client
put in the header itself sit further left and are never reached.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from litestar.types import Scope

    from api.runtime import Runtime

Address: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
Network: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network

FORWARDED_FOR = b"x-forwarded-for"


def proxy_network(text: str) -> Network:
    """An IP address or CIDR of ``K2Q_TRUSTED_PROXIES`` as a network (a single address: /32 or /128).

    Raises:
        ValueError: not an address or network, or a network with host bits set.
    """
    return ipaddress.ip_network(text.strip())


@functools.lru_cache(maxsize=8)
def trusted_networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    """The networks of ``entries`` (parsed once per distinct setting)."""
    return tuple(proxy_network(entry) for entry in entries)


def _address(text: str) -> Address | None:
    """An address as a peer or a forwarded entry spells it (a port and brackets allowed), else None."""
    text = text.strip()
    if text.startswith("["):  # [v6] or [v6]:port
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:  # v4:port
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: Address, trusted: tuple[Network, ...]) -> bool:
    return any(address.version == network.version and address in network for network in trusted)


def forwarded_client(
    peer: str | None, forwarded_for: Iterable[str], trusted: tuple[Network, ...]
) -> str | None:
    """The client's address, from the connection's ``peer`` and the ``X-Forwarded-For`` header values.

    The header counts only when ``peer`` is in ``trusted``; it is then walked from the right past
    trusted proxies. An entry that is not an address ends the walk at the last proxy trusted.
    """
    address = _address(peer) if peer is not None else None
    if address is None:
        return peer
    if not trusted or not _trusted(address, trusted):
        return str(address)
    hops = [hop for value in forwarded_for for hop in value.split(",")]
    for hop in reversed(hops):
        forwarded = _address(hop)
        if forwarded is None:
            break
        address = forwarded
        if not _trusted(address, trusted):
            break
    return str(address)


def client_address(scope: Scope) -> str | None:
    """The address of whoever sent this request (see the module's doc); None without a peer."""
    client = scope.get("client")
    peer = str(client[0]) if client else None
    runtime: Runtime | None = scope["litestar_app"].state.get("runtime") if "litestar_app" in scope else None
    trusted = trusted_networks(runtime.settings.auth.trusted_proxies) if runtime is not None else ()
    headers = (value.decode("latin-1") for key, value in scope.get("headers", ()) if key == FORWARDED_FOR)
    return forwarded_client(peer, headers, trusted)
