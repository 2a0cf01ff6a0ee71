"""Where to connect: WebSocket URLs parsed once into what an adapter needs."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

import attrs

from .errors import LocalProtocolError
from .proxy import ProxyAddress

__all__ = ["Endpoint", "check_host", "parse_endpoint"]

_DEFAULT_PORTS = {"ws": 80, "wss": 443}
#: One DNS label once IDNA-encoded (RFC 1123 §2.1; ``_`` is common in practice).
_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\Z")


def check_host(host: str, url: str) -> None:
    """Refuse a host no resolver could take (``a..b``, a space, a 64-byte label),
    here at the caller's call, the same in every adapter: otherwise each adapter's
    resolver fails its own way, later, inside its loop."""
    if ":" in host:
        try:  # an IPv6 literal (urlsplit checks the brackets only from Python 3.11)
            ipaddress.IPv6Address(host)
        except ValueError:
            raise LocalProtocolError(f"endpoint has a bad IPv6 host: {url!r}") from None
        return
    try:
        ascii_host = host.rstrip(".").encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise LocalProtocolError(f"endpoint has a bad host name ({exc}): {url!r}") from None
    labels = ascii_host.split(".")
    if len(ascii_host) > 253 or not all(_LABEL.match(label) for label in labels):
        raise LocalProtocolError(f"endpoint has a bad host name: {url!r}")


def _no_query(url: str) -> str:
    """A URL for a ``repr``: its query (which might carry a credential) elided."""
    base, query, _ = url.partition("?")
    return repr(base + "?…" if query else base)


def _names_only(headers: tuple[tuple[str, str], ...]) -> str:
    """Headers for a ``repr``: any value might be a credential (``Authorization``)."""
    return repr(tuple((name, "…") for name, _ in headers))


@attrs.frozen(kw_only=True)
class Endpoint:
    """Where to connect, parsed from a URL once. Its ``repr`` (in ``OpenTransport``'s)
    shows no query and no header value, which might carry a credential."""

    url: str = attrs.field(repr=_no_query)
    host: str
    port: int
    tls: bool
    #: Path and query of the WebSocket request (``/connection/websocket``).
    resource: str = attrs.field(repr=_no_query)
    subprotocols: tuple[str, ...] = ()
    headers: tuple[tuple[str, str], ...] = attrs.field(default=(), repr=_names_only)
    #: Open the TCP connection to this HTTP proxy and CONNECT through it (the
    #: byte pipeline does the CONNECT; for TLS it then asks for ``StartTls``).
    proxy: ProxyAddress | None = None

    @property
    def host_header(self) -> str:
        """The ``Host`` header: the port only when it is not the scheme's default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.port == _DEFAULT_PORTS["wss" if self.tls else "ws"]:
            return host
        return f"{host}:{self.port}"


def parse_endpoint(
    url: str,
    subprotocols: tuple[str, ...] = (),
    headers: tuple[tuple[str, str], ...] = (),
    proxy: ProxyAddress | None = None,
) -> Endpoint:
    """Parse ``ws://`` / ``wss://`` URLs; anything else is the caller's mistake."""
    if not isinstance(url, str):
        raise LocalProtocolError(f"endpoint must be a str, got {type(url).__name__}")
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # an unbalanced "[" in the netloc, for one
        raise LocalProtocolError(f"endpoint is not a URL ({exc}): {url!r}") from None
    if parts.scheme not in _DEFAULT_PORTS:
        raise LocalProtocolError(f"endpoint must be a ws:// or wss:// URL, got {url!r}")
    if not parts.hostname:
        raise LocalProtocolError(f"endpoint has no host: {url!r}")
    check_host(parts.hostname, url)
    try:
        port = parts.port or _DEFAULT_PORTS[parts.scheme]
    except ValueError as exc:
        raise LocalProtocolError(f"endpoint has a bad port: {url!r}") from exc
    resource = parts.path or "/"
    if parts.query:
        resource = f"{resource}?{parts.query}"
    return Endpoint(
        url=url,
        host=parts.hostname,
        port=port,
        tls=parts.scheme == "wss",
        resource=resource,
        subprotocols=subprotocols,
        headers=headers,
        proxy=proxy,
    )
