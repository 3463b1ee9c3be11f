"""The client's address, for the limits of routes without sign-in.

The address is the connection's peer, unless that peer is one of the operator's trusted
proxies (``TRUSTED_PROXIES``): then ``X-Forwarded-For`` is read from the right, skipping
trusted proxies, and the first address that is not one is the client (what a client writes
itself at the left end is never believed). Without trusted proxies the header is ignored, so a
client cannot choose its own address. IPv6 clients are counted by their /64 network: one
subscriber line usually holds a whole /64.
"""

import ipaddress
from collections.abc import Iterable, Sequence

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class ClientAddress:
    def __init__(self, trusted: Iterable[IPNetwork] = ()) -> None:
        self.trusted: tuple[IPNetwork, ...] = tuple(trusted)

    def _trusts(self, address: IPAddress) -> bool:
        return any(address in network for network in self.trusted)

    def of(self, peer: str | None, forwarded_for: Sequence[str] = ()) -> str:
        """The key of the client: an IPv4 address, or an IPv6 /64 network (``unknown`` when
        the server was given no peer)."""
        address = _parse(peer)
        if address is None:
            return "unknown"
        if self.trusted and self._trusts(address):
            hops = [hop.strip() for value in forwarded_for for hop in value.split(",")]
            for hop in reversed(hops):
                parsed = _parse(hop)
                if parsed is None:
                    break  # a malformed hop: trust nothing further left
                address = parsed
                if not self._trusts(parsed):
                    break
        return key_of(address)


def _parse(text: str | None) -> IPAddress | None:
    if not text:
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def key_of(address: IPAddress) -> str:
    """A key-value key part: the IPv4 address, or the IPv6 /64 as hexadecimal digits."""
    if isinstance(address, ipaddress.IPv4Address):
        return str(address)
    return "v6-" + address.packed[:8].hex()
