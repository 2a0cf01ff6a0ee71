"""Where to connect: WebSocket URLs parsed once into what an adapter needs."""

from __future__ import annotations

from urllib.parse import urlsplit

import attrs

from .errors import LocalProtocolError
from .proxy import ProxyAddress

__all__ = ["Endpoint", "parse_endpoint"]

_DEFAULT_PORTS = {"ws": 80, "wss": 443}


@attrs.frozen(kw_only=True)
class Endpoint:
    url: str
    host: str
    port: int
    tls: bool
    #: Path and query of the WebSocket request (``/connection/websocket``).
    resource: str
    subprotocols: tuple[str, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    #: Open the TCP connection to this HTTP proxy and CONNECT through it (the
    #: facade does the CONNECT; for TLS it then asks for ``StartTls``).
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
    parts = urlsplit(url)
    if parts.scheme not in _DEFAULT_PORTS:
        raise LocalProtocolError(f"endpoint must be a ws:// or wss:// URL, got {url!r}")
    if not parts.hostname:
        raise LocalProtocolError(f"endpoint has no host: {url!r}")
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
