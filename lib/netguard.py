"""Keep feed addresses typed by users away from the machine and the network it runs on.

A hosted app that fetches any URL a visitor types can be pointed at its own loopback
services, the operator's LAN or the cloud's metadata endpoint (server-side request
forgery). `check_url` refuses such addresses before a request; `GuardedAdapter` checks the
address each new connection actually reached, so a name that resolves to a public address
for the check and to 127.0.0.1 for the connect (DNS rebinding) is refused too.

Feeds from the topics file are the operator's own choice and are not checked.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
from typing import Any, ClassVar
from urllib.parse import urlsplit

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from lib.errors import ADDRESS_RULES, FailureKind, UnsafeURLError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Instance credentials live here (AWS/GCP/Azure/Oracle, AWS over IPv6, Alibaba): refused
# even when private addresses are allowed, as no feed is ever served from them.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(text) for text in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT; Python calls it neither
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # an IPv4 address in IPv6 clothes
_WEB_SCHEMES = ("http", "https")
_UNSAFE = FailureKind.UNSAFE

__all__ = ["GuardedAdapter", "UnsafeURLError", "check_peer", "check_url", "refusal"]


def check_url(url: str, allow_private: bool) -> None:
    """Raise `UnsafeURLError` unless `url` is an http(s) address on the public internet.

    Refused: other schemes, a missing host, credentials in the URL (user:pass@), names
    that do not resolve, and names for which ANY resolved address is loopback, private,
    link-local, multicast, reserved, unspecified, shared (100.64.0.0/10) or a cloud
    metadata address (also as IPv4-mapped, NAT64 or 6to4 IPv6). Any port is allowed:
    feeds live on odd ports, and the address, not the port, decides what is reachable.
    With `allow_private` (the operator's NEWS_ALLOW_PRIVATE_HOSTS), only cloud metadata
    addresses are refused among the addresses.
    """
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
        port = parts.port
    except ValueError:  # a bad port or a broken IPv6 literal
        raise UnsafeURLError(url, _UNSAFE, rule="invalid") from None
    scheme = parts.scheme.lower()
    if scheme not in _WEB_SCHEMES:
        raise UnsafeURLError(url, _UNSAFE, rule="scheme", scheme=scheme)
    if "@" in parts.netloc:
        raise UnsafeURLError(url, _UNSAFE, rule="credentials")
    if not host:
        raise UnsafeURLError(url, _UNSAFE, rule="no-host")
    name = host.rstrip(".")
    if not allow_private and (name == "localhost" or name.endswith(".localhost")):
        raise UnsafeURLError(url, _UNSAFE, rule="localhost", host=host)
    for address in _resolve(url, host, port or (443 if scheme == "https" else 80)):
        rule = _refusal_rule(address, allow_private)
        if rule is not None:
            if address == _literal(host):
                raise UnsafeURLError(url, _UNSAFE, rule=rule, host=host)
            raise UnsafeURLError(url, _UNSAFE, rule=rule, host=host, address=str(address))


def refusal(address: IPAddress, allow_private: bool) -> str | None:
    """Why a feed must not be fetched from `address` ("a loopback address"), or None."""
    rule = _refusal_rule(address, allow_private)
    return None if rule is None else ADDRESS_RULES[rule]


def _refusal_rule(address: IPAddress, allow_private: bool) -> str | None:
    """The rule (a key of `ADDRESS_RULES`) that refuses `address`, or None."""
    address = _embedded_ipv4(address) or address
    if address in METADATA_ADDRESSES:
        return "metadata"
    if allow_private:
        return None
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if address in _SHARED:
        return "shared"
    if address.is_reserved:
        return "reserved"
    if address.is_private or not address.is_global:
        return "private"
    return None


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, NAT64, 6to4), if any."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _resolve(url: str, host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to (numeric forms like 2130706433 included)."""
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except UnicodeError:  # a name IDNA cannot encode
        raise UnsafeURLError(url, _UNSAFE, rule="invalid") from None
    except OSError:  # socket.gaierror and friends
        answers = []
    addresses = [
        ipaddress.ip_address(sockaddr[0])
        for family, _, _, _, sockaddr in answers
        if family in (socket.AF_INET, socket.AF_INET6)
    ]
    if not addresses:
        raise UnsafeURLError(url, FailureKind.DNS, host=host)
    return addresses


def check_peer(sock: socket.socket, host: str, allow_private: bool) -> None:
    """Raise `UnsafeURLError` (closing `sock`) if it is connected to a refused address."""
    peer = ipaddress.ip_address(sock.getpeername()[0])
    rule = _refusal_rule(peer, allow_private)
    if rule is not None:
        sock.close()
        raise UnsafeURLError(host, _UNSAFE, rule=rule, host=host, address=str(peer), peer=True)


class GuardedAdapter(HTTPAdapter):
    """An adapter whose every new connection is refused if it reached a refused address.

    The check runs on the connected socket, after TCP connect and before TLS or any HTTP
    byte, so it holds whatever the name resolved to when urllib3 connected.
    """

    __attrs__: ClassVar[list[str]] = [*HTTPAdapter.__attrs__, "allow_private"]

    def __init__(self, allow_private: bool, **kwargs: Any) -> None:
        self.allow_private = allow_private  # before super(): it builds the pool manager
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _checked_pools(self.allow_private)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        # A proxy resolves names itself, out of sight of the peer check.
        raise UnsafeURLError(proxy, _UNSAFE, rule="proxy")


@functools.cache
def _checked_pools(allow_private: bool) -> dict[str, type[HTTPConnectionPool]]:
    """urllib3 pool classes whose connections check their peer under this policy."""

    class CheckedHTTPConnection(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()
            check_peer(sock, self.host, allow_private)
            return sock

    class CheckedHTTPSConnection(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()  # TCP only: TLS starts after we return
            check_peer(sock, self.host, allow_private)
            return sock

    class CheckedHTTPPool(HTTPConnectionPool):
        ConnectionCls = CheckedHTTPConnection

    class CheckedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = CheckedHTTPSConnection

    return {"http": CheckedHTTPPool, "https": CheckedHTTPSPool}
