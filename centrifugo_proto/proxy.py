"""The HTTP CONNECT proxy handshake, sans-I/O (h11): a tunnel to the server.

When an endpoint has a proxy, the adapter opens its TCP connection to the
proxy; the byte pipeline (:mod:`.pipeline`) sends ``CONNECT host:port`` through
it and waits for a 2xx answer before the WebSocket handshake (and, for
``wss://``, asks the adapter to start TLS inside the tunnel with
:class:`~centrifugo_proto.events.StartTls`).
"""

from __future__ import annotations

import base64
from urllib.parse import unquote, urlsplit

import attrs
import h11

from .errors import LocalProtocolError

__all__ = ["ProxyAddress", "ProxyHandshake", "parse_proxy"]


@attrs.frozen(kw_only=True)
class ProxyAddress:
    host: str
    port: int
    #: ``Proxy-Authorization`` value from ``http://user:password@host:port``.
    authorization: str | None = attrs.field(default=None, repr=False)


def parse_proxy(url: str) -> ProxyAddress:
    """``http://[user:password@]host:port``; anything else is the caller's mistake."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise LocalProtocolError(f"proxy must be an http://host:port URL, got {url!r}")
    try:
        port = parts.port or 80
    except ValueError as exc:
        raise LocalProtocolError(f"proxy has a bad port: {url!r}") from exc
    authorization = None
    if parts.username is not None:
        secret = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        authorization = "Basic " + base64.b64encode(secret.encode()).decode()
    return ProxyAddress(host=parts.hostname, port=port, authorization=authorization)


class ProxyHandshake:
    """One CONNECT exchange. :meth:`request` gives the bytes to send;
    :meth:`receive_data` returns None while the answer is incomplete, then
    ``(True, bytes after the answer)`` for a tunnel or ``(False, reason)``."""

    def __init__(self, proxy: ProxyAddress, host: str, port: int) -> None:
        self._h11 = h11.Connection(h11.CLIENT)
        authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self._headers = [("Host", authority)]
        if proxy.authorization:
            self._headers.append(("Proxy-Authorization", proxy.authorization))
        self._target = authority

    def request(self) -> bytes:
        return self._h11.send(
            h11.Request(method="CONNECT", target=self._target, headers=self._headers)
        ) + (self._h11.send(h11.EndOfMessage()) or b"")

    def receive_data(self, data: bytes | None) -> tuple[bool, bytes | str] | None:
        """Feed bytes (None: the proxy closed)."""
        if data is None:
            # Before a whole answer (after one, the tunnel is the caller's). Fed to
            # h11, an EOF here raises "can't handle event type ConnectionClosed".
            return False, "proxy closed the connection during CONNECT"
        try:
            self._h11.receive_data(data)
            while True:
                event = self._h11.next_event()
                if not isinstance(event, h11.InformationalResponse):  # 1xx: keep reading
                    break
        except h11.RemoteProtocolError as exc:
            return False, f"proxy broke HTTP: {exc}"
        if isinstance(event, h11.Response):
            if 200 <= event.status_code < 300:
                trailing, _ = self._h11.trailing_data
                return True, bytes(trailing)
            reason = event.reason.decode("latin-1")
            return False, f"proxy refused CONNECT: HTTP {event.status_code} {reason}".rstrip()
        return None
