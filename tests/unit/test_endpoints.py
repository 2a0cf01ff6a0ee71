"""Endpoint URLs are checked once, in the core, so every adapter refuses the same
bad URL with the same ``LocalProtocolError`` at construction (issue "Hardening")."""

from __future__ import annotations

import pytest

from centrifugo_proto import ClientProtocol, LocalProtocolError
from centrifugo_proto.endpoints import check_host, parse_endpoint


@pytest.mark.parametrize(
    "url",
    [
        "ws://a..b/",  # an empty label: IDNA refuses it (asyncio and blocking used to time out)
        "ws://a b/connection/websocket",
        "ws://" + "x" * 64 + ".example/",  # a label over 63 bytes
        "ws://h:99999/",
        "ws://[zz]/",
        "http://example.org/",
        "ws:///no-host",
        b"ws://example.org/",
    ],
)
def test_a_bad_endpoint_is_refused_at_construction(url):
    with pytest.raises(LocalProtocolError):
        ClientProtocol(url)


def test_a_bad_ipv6_literal_is_refused():
    with pytest.raises(LocalProtocolError, match="IPv6"):
        check_host("fe80::zz", "ws://[fe80::zz]/")


@pytest.mark.parametrize(
    ("url", "host", "port"),
    [
        ("ws://127.0.0.1:8000/connection/websocket", "127.0.0.1", 8000),
        ("ws://[::1]:8000/c", "::1", 8000),
        ("wss://bücher.example/c", "bücher.example", 443),
        ("ws://under_score.example/c", "under_score.example", 80),
        ("ws://trailing.dot./c", "trailing.dot.", 80),
    ],
)
def test_good_endpoints_parse(url, host, port):
    endpoint = parse_endpoint(url)
    assert (endpoint.host, endpoint.port) == (host, port)
