"""Where a webhook may go: http(s) URLs whose host resolves only to public addresses.

A URL is checked when an endpoint is written and again at every send: the host is resolved,
every address checked, and the request goes to a checked address (with the name in the Host
header and TLS SNI), so a DNS answer that changes between the check and the connection cannot
reach an internal address. Operators may allow named hosts, or every internal address.
"""

import asyncio
import contextlib
import functools
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class Refused(Exception):
    """The URL may not be used; ``message`` says why, for the admin or the delivery log."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unresolved(Refused):
    """The host name does not resolve (now)."""


@dataclass(frozen=True)
class Target:
    url: SplitResult
    host: str
    """Lower case, without brackets."""
    port: int

    @functools.cached_property
    def literal(self) -> IpAddress | None:
        """The host if it is an address (worked out once per target)."""
        try:
            return ipaddress.ip_address(self.host)
        except ValueError:
            return None

    def url_for(self, address: IpAddress) -> str:
        """The URL with ``address`` in place of the host (the name goes in Host and SNI)."""
        host = f"[{address}]" if address.version == 6 else str(address)
        netloc = f"{host}:{self.port}"
        return self.url._replace(netloc=netloc, fragment="").geturl()

    @property
    def host_header(self) -> str:
        default = 443 if self.url.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


@dataclass(frozen=True)
class Policy:
    allowed_hosts: frozenset[str] = frozenset()
    allow_private: bool = False

    @classmethod
    def of(cls, allowed_hosts: list[str], allow_private: bool) -> "Policy":
        return cls(frozenset(h.lower().strip("[]") for h in allowed_hosts), allow_private)

    def why_not(self, host: str, address: IpAddress) -> str | None:
        """None if ``host`` may be reached at ``address``, else the reason."""
        if self.allow_private or host in self.allowed_hosts or str(address) in self.allowed_hosts:
            return None
        return internal(address)


def internal(address: IpAddress) -> str | None:
    """What kind of internal address ``address`` is, or None for a public one."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return internal(address.ipv4_mapped)
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("not public", not address.is_global),
    )
    return next((f"{name} address {address}" for name, hit in checks if hit), None)


def parse(url: str) -> Target:
    """The URL's parts; refused unless it is an absolute http(s) URL with a host."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise Refused(f"not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https"):
        raise Refused("only http and https URLs")
    if not parts.hostname:
        raise Refused("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise Refused("no user name or password in the URL; put credentials in its path")
    if any(c in url for c in "\r\n\t "):
        raise Refused("the URL contains white space")
    default = 443 if parts.scheme == "https" else 80
    return Target(parts, parts.hostname.lower().rstrip("."), port or default)


async def resolve(host: str, port: int) -> list[IpAddress]:
    """Every address of ``host`` (tests replace this function)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: list[IpAddress] = []
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    return found


async def addresses(target: Target, policy: Policy) -> list[IpAddress]:
    """The addresses ``target`` may be reached at: all of its host's, each checked; refused if
    any is internal (and not allowed) or the name does not resolve."""
    literal = target.literal
    if literal is not None:
        found = [literal]
    else:
        try:
            found = await resolve(target.host, target.port)
        except (OSError, UnicodeError, ValueError) as exc:
            raise Unresolved(f"{target.host} does not resolve ({exc})") from None
        if not found:
            raise Unresolved(f"{target.host} does not resolve")
    for address in found:
        reason = policy.why_not(target.host, address)
        if reason is not None:
            raise Refused(f"{target.host} is an internal address ({reason})")
    return found


async def check(url: str, policy: Policy) -> Target:
    """For an endpoint being written: refused if the URL is not http(s), or its host is or
    resolves to an internal address. A name that does not resolve yet is accepted (each send
    resolves it again and checks)."""
    target = parse(url)
    with contextlib.suppress(Unresolved):
        await addresses(target, policy)
    return target
