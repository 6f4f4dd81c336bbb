"""lib/netguard.py: which feed addresses a user may add, and the check on each connection."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from lib.errors import FetchError
from lib.netguard import UnsafeURLError, check_peer, check_url, refusal
from support.feedserver import FeedServer

PUBLIC = "feeds must be on the public internet"


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://127.0.0.1/feed", f"127.0.0.1 is a loopback address (this machine); {PUBLIC}"),
        ("http://[::1]/", f"::1 is a loopback address (this machine); {PUBLIC}"),
        ("http://0.0.0.0/", f"0.0.0.0 is an unspecified address (it means this machine); {PUBLIC}"),
        (
            "http://169.254.169.254/latest/meta-data",
            f"169.254.169.254 is a cloud metadata address; {PUBLIC}",
        ),
        ("http://[fd00:ec2::254]/", f"fd00:ec2::254 is a cloud metadata address; {PUBLIC}"),
        ("http://100.100.100.200/", f"100.100.100.200 is a cloud metadata address; {PUBLIC}"),
        # Numeric spellings the resolver reads as 127.0.0.1: the message names what they are.
        (
            "http://2130706433/",
            f"2130706433 resolves to 127.0.0.1, a loopback address (this machine); {PUBLIC}",
        ),
        (
            "http://0x7f.1/",
            f"0x7f.1 resolves to 127.0.0.1, a loopback address (this machine); {PUBLIC}",
        ),
        (
            "http://017700000001:8080/",
            f"017700000001 resolves to 127.0.0.1, a loopback address (this machine); {PUBLIC}",
        ),
        ("http://localhost./", f"localhost. is this machine; {PUBLIC}"),
        ("http://LOCALHOST/", f"localhost is this machine; {PUBLIC}"),
        ("http://feeds.localhost/", f"feeds.localhost is this machine; {PUBLIC}"),
        ("http://10.0.0.5/", f"10.0.0.5 is a private address; {PUBLIC}"),
        ("http://192.168.1.1:8080/", f"192.168.1.1 is a private address; {PUBLIC}"),
        ("http://[fd00::2]/", f"fd00::2 is a private address; {PUBLIC}"),
        ("http://169.254.1.1/", f"169.254.1.1 is a link-local address; {PUBLIC}"),
        ("http://[fe80::1]/", f"fe80::1 is a link-local address; {PUBLIC}"),
        ("http://224.0.0.1/", f"224.0.0.1 is a multicast address; {PUBLIC}"),
        ("http://240.0.0.1/", f"240.0.0.1 is a reserved address; {PUBLIC}"),
        ("http://100.64.0.1/", f"100.64.0.1 is a shared (carrier-grade NAT) address; {PUBLIC}"),
        ("http://192.0.2.1/", f"192.0.2.1 is a private address; {PUBLIC}"),  # documentation
        # IPv6 spellings of IPv4 addresses are judged by the IPv4 address.
        (
            "http://[::ffff:127.0.0.1]/",
            f"::ffff:127.0.0.1 is a loopback address (this machine); {PUBLIC}",
        ),
        ("http://[64:ff9b::a00:5]/", f"64:ff9b::a00:5 is a private address; {PUBLIC}"),
        ("http://[2002:a9fe:a9fe::]/", f"2002:a9fe:a9fe:: is a cloud metadata address; {PUBLIC}"),
        ("file:///etc/passwd", "only http:// and https:// feeds can be added (got file:)"),
        ("javascript:alert(1)", "only http:// and https:// feeds can be added (got javascript:)"),
        ("ftp://example.org/feed", "only http:// and https:// feeds can be added (got ftp:)"),
        (
            "example.org/feed.xml",
            "only http:// and https:// feeds can be added — add http:// or https:// in front",
        ),
        (
            "http://user:pw@example.test/",
            "feed addresses with a user name or password (user:pass@) are not accepted",
        ),
        (
            "http://example.test@127.0.0.1/",
            "feed addresses with a user name or password (user:pass@) are not accepted",
        ),
        ("http:///feed.xml", "the address has no host name — check the feed URL"),
        ("http://example.test:99999/", "not a valid web address — check the feed URL"),
        ("http://[::1/", "not a valid web address — check the feed URL"),
        (
            "http://feed.example.invalid/rss",
            "feed.example.invalid could not be found (DNS lookup failed) — check the address",
        ),
    ],
)
def test_refused_with_words(url: str, problem: str) -> None:
    with pytest.raises(UnsafeURLError) as caught:
        check_url(url, allow_private=False)
    assert caught.value.problem == problem
    assert caught.value.url == url
    assert isinstance(caught.value, FetchError)


@pytest.mark.parametrize(
    "url",
    [
        "http://93.184.215.14/feed.xml",
        "https://93.184.215.14:8443/rss",  # any port: the address decides, not the port
        "http://[2606:4700:4700::1111]/",
        "http://[::ffff:93.184.215.14]/",
        "HTTPS://93.184.215.14/",
    ],
)
def test_public_addresses_pass(url: str) -> None:
    check_url(url, allow_private=False)


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8080/feed", "http://[::1]/", "http://10.0.0.5/", "http://localhost/"],
)
def test_private_addresses_pass_when_the_operator_allows_them(url: str) -> None:
    check_url(url, allow_private=True)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://169.254.169.254/", f"169.254.169.254 is a cloud metadata address; {PUBLIC}"),
        (
            "http://[::ffff:169.254.169.254]/",
            f"::ffff:169.254.169.254 is a cloud metadata address; {PUBLIC}",
        ),
        ("file:///etc/passwd", "only http:// and https:// feeds can be added (got file:)"),
        (
            "http://user:pw@127.0.0.1/",
            "feed addresses with a user name or password (user:pass@) are not accepted",
        ),
    ],
)
def test_metadata_schemes_and_credentials_are_refused_even_on_a_private_network(
    url: str, problem: str
) -> None:
    with pytest.raises(UnsafeURLError) as caught:
        check_url(url, allow_private=True)
    assert caught.value.problem == problem


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("8.8.8.8", None),
        ("2001:4860:4860::8888", None),
        ("127.0.0.2", "a loopback address (this machine)"),
        ("::", "an unspecified address (it means this machine)"),
        ("::ffff:10.1.2.3", "a private address"),
        ("::7f00:1", "a reserved address"),  # deprecated IPv4-compatible form
        ("ff02::1", "a multicast address"),
        ("100.127.255.255", "a shared (carrier-grade NAT) address"),
        ("255.255.255.255", "a reserved address"),
        ("198.18.0.1", "a private address"),  # benchmarking: not public either,
    ],
)
def test_refusal_names_the_kind_of_address(address: str, reason: str | None) -> None:
    assert refusal(ipaddress.ip_address(address), allow_private=False) == reason


def test_peer_check_refuses_and_closes_a_socket_connected_to_loopback(
    feed_server: FeedServer,
) -> None:
    sock = socket.create_connection(("127.0.0.1", feed_server.port))
    with pytest.raises(UnsafeURLError) as caught:
        check_peer(sock, "rebind.test", allow_private=False)
    assert caught.value.problem == (
        f"the connection to rebind.test went to 127.0.0.1, a loopback address (this machine); "
        f"{PUBLIC}"
    )
    assert sock.fileno() == -1  # closed: not one byte of a request can follow


def test_peer_check_lets_a_private_peer_through_when_allowed(feed_server: FeedServer) -> None:
    with socket.create_connection(("127.0.0.1", feed_server.port)) as sock:
        check_peer(sock, "127.0.0.1", allow_private=True)
        assert sock.fileno() != -1
