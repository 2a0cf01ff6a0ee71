"""http:// and https:// URLs of the API client and other HTTP calls (http_url.py)."""

from __future__ import annotations

import pytest

from centrifugo_proto import LocalProtocolError
from centrifugo_proto.http_url import HttpUrl, parse_http_url


def test_parts_of_an_api_url():
    url = parse_http_url("http://127.0.0.1:8000/api/")
    assert url == HttpUrl(
        url="http://127.0.0.1:8000/api/",
        tls=False,
        host="127.0.0.1",
        port=8000,
        path="/api/",
        query="",
    )
    assert url.origin == (False, "127.0.0.1", 8000)
    assert url.host_header == "127.0.0.1:8000"
    assert url.join("publish") == "/api/publish"
    assert url.target == "/api/"  # as given: 1.x serves /api/ and redirects /api


@pytest.mark.parametrize(
    ("text", "host_header", "target", "joined"),
    [
        ("https://example.com", "example.com", "/", "/publish"),
        ("http://example.com:80/", "example.com", "/", "/publish"),
        (
            "https://example.com:8443/x?api_key=k",
            "example.com:8443",
            "/x?api_key=k",
            "/x/publish?api_key=k",
        ),
        ("http://[::1]:8000/api", "[::1]:8000", "/api", "/api/publish"),
        ("https://[::1]/api", "[::1]", "/api", "/api/publish"),
    ],
)
def test_host_header_and_targets(text, host_header, target, joined):
    url = parse_http_url(text)
    assert (url.host_header, url.target, url.join("publish")) == (host_header, target, joined)


def test_default_ports():
    assert parse_http_url("http://h/").port == 80
    assert parse_http_url("https://h/").port == 443
    assert parse_http_url("https://h/").tls


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"http://h/", "must be a str"),
        ("ws://h/", "http:// or https://"),
        ("h:8000/api", "http:// or https://"),
        ("http:///api", "no host"),
        ("http://user:pw@h/", "credentials"),
        ("http://h/api#x", "fragment"),
        ("http://h:99999/", "bad port"),
        ("http://h:0/", "bad port"),
        ("http://h:x/", "bad port"),
        ("http://[::1/", "not a URL"),
        ("http://a..b/", "bad host"),
        ("http://[zz::1]/", "not a URL"),
        ("http://h/a b", "printable ASCII"),
        ("http://h/é", "printable ASCII"),
        ("http://h/\x00", "printable ASCII"),
    ],
)
def test_bad_urls_are_the_callers_mistake(text, message):
    with pytest.raises(LocalProtocolError, match=message):
        parse_http_url(text)
