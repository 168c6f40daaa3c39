"""The client's address behind reverse proxies (``YANGGUANG_TRUSTED_PROXIES``).

``X-Forwarded-For`` is believed only when the TCP peer is a trusted proxy. Each proxy appends the
address it received the request from, so the list is read from the right: the first address that is
not itself a trusted proxy is the client. Anything a client writes into the header lies to the left of
that and is never used. Without trusted proxies (the default) the peer address is the client.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_trusted_proxies(raw: str) -> tuple[Network, ...]:
    """``"10.0.0.1, 192.168.0.0/16, ::1"`` → networks; ValueError names the entry it cannot read."""
    networks = []
    for part in raw.split(","):
        entry = part.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError as exc:
            raise ValueError(f"{entry!r} is neither an IP address nor a CIDR block") from exc
    return tuple(networks)


def _address(text: str) -> Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1:text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: Address, proxies: tuple[Network, ...]) -> bool:
    return any(address.version == net.version and address in net for net in proxies)


def client_address(peer: str | None, forwarded_for: Iterable[str], proxies: tuple[Network, ...]) -> str | None:
    """The client's address: the peer's, or the right-most untrusted ``X-Forwarded-For`` entry when
    the peer is a trusted proxy. ``forwarded_for`` holds the header's values (it may be repeated)."""
    if not proxies or peer is None:
        return peer
    peer_address = _address(peer)
    if peer_address is None or not _trusted(peer_address, proxies):
        return peer
    nearest = str(peer_address)
    hops = [hop for value in forwarded_for for hop in value.split(",")]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:  # unreadable: stop at the last proxy we trust
            return nearest
        if not _trusted(address, proxies):
            return str(address)
        nearest = str(address)
    return nearest
