"""The client address of an HTTP request, for per-address limits.

The peer address, unless the peer is a proxy named in `TRUSTED_PROXIES`: then the
`X-Forwarded-For` chain is read from the right (each proxy appends the address it saw),
skipping trusted proxies, and the first address that is not one is the client. Whatever
a client writes into the header itself sits to the left of that and is never believed;
an entry that is not an IP address ends the walk at the last trusted hop.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_trusted_proxies(text: str) -> tuple[Network, ...]:
    """Comma-separated addresses or CIDRs; ValueError names an entry that is neither."""
    networks: list[Network] = []
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address or CIDR") from None
    return tuple(networks)


def _address(text: str) -> Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _trusted(address: Address, proxies: tuple[Network, ...]) -> bool:
    return any(address in network for network in proxies)


def client_address(
    peer: str | None, forwarded_for: Iterable[str], proxies: tuple[Network, ...]
) -> str:
    """The address to count a request against (see the module docstring)."""
    peer_address = _address(peer or "")
    if peer_address is None:
        return peer or "unknown"
    client = peer_address
    if not _trusted(client, proxies):
        return str(client)
    hops = [hop for header in forwarded_for for hop in header.split(",")]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            break
        client = address
        if not _trusted(address, proxies):
            break
    return str(client)
