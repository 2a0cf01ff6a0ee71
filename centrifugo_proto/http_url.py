"""``http://`` and ``https://`` URLs parsed once into what an HTTP client needs.

Used by the server API client (its base URL, PROTOCOL.md §8: ``/api/<method>``)
and by any other plain HTTP call an adapter makes (the 1.x private-channel auth
endpoint, LEGACY-V1.md §6). Host names are checked the way WebSocket endpoints
are (:func:`~centrifugo_proto.endpoints.check_host`), so a bad URL is the same
:class:`LocalProtocolError` at the caller's call in every adapter.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import attrs

from .endpoints import check_host
from .errors import LocalProtocolError

__all__ = ["HttpUrl", "parse_http_url"]

_DEFAULT_PORTS = {"http": 80, "https": 443}


@attrs.frozen(kw_only=True)
class HttpUrl:
    url: str
    tls: bool
    host: str
    port: int
    #: The path as given ("" for none). A trailing ``/`` is kept: servers tell
    #: ``/api`` from ``/api/`` (1.x serves only the latter and redirects the other).
    path: str
    #: ``?query`` or "".
    query: str

    @property
    def origin(self) -> tuple[bool, str, int]:
        """What decides whether a kept-alive connection can serve this URL."""
        return (self.tls, self.host, self.port)

    @property
    def host_header(self) -> str:
        """The ``Host`` header: the port only when it is not the scheme's default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.port == _DEFAULT_PORTS["https" if self.tls else "http"]:
            return host
        return f"{host}:{self.port}"

    @property
    def target(self) -> str:
        """The request target of the URL itself (origin form)."""
        return f"{self.path or '/'}{self.query}"

    def join(self, name: str) -> str:
        """The request target of ``name`` under this URL's path (``/api`` + ``publish``)."""
        return f"{self.path.rstrip('/')}/{name}{self.query}"


def parse_http_url(url: str) -> HttpUrl:
    """Parse an ``http://`` / ``https://`` URL; anything else is the caller's mistake."""
    if not isinstance(url, str):
        raise LocalProtocolError(f"URL must be a str, got {type(url).__name__}")
    if not url.isascii() or any(ch.isspace() or not ch.isprintable() for ch in url):
        # A request target must be ASCII without spaces or controls (RFC 9112 §3.2);
        # percent-encode anything else before handing the URL in.
        raise LocalProtocolError(f"URL must be printable ASCII without spaces: {url!r}")
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # an unbalanced "[" in the netloc, for one
        raise LocalProtocolError(f"not a URL ({exc}): {url!r}") from None
    if parts.scheme not in _DEFAULT_PORTS:
        raise LocalProtocolError(f"URL must be http:// or https://, got {url!r}")
    if not parts.hostname:
        raise LocalProtocolError(f"URL has no host: {url!r}")
    if parts.username is not None or parts.password is not None:
        raise LocalProtocolError(f"URL must not carry credentials: {url!r}")
    if parts.fragment:
        raise LocalProtocolError(f"URL must not carry a fragment: {url!r}")
    check_host(parts.hostname, url)
    try:
        port = parts.port
    except ValueError as exc:
        raise LocalProtocolError(f"URL has a bad port: {url!r}") from exc
    if port == 0:
        raise LocalProtocolError(f"URL has a bad port: {url!r}")
    if port is None:
        port = _DEFAULT_PORTS[parts.scheme]
    return HttpUrl(
        url=url,
        tls=parts.scheme == "https",
        host=parts.hostname,
        port=port,
        path=parts.path,
        query=f"?{parts.query}" if parts.query else "",
    )
