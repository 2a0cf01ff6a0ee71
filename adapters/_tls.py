"""TLS for ``wss://`` in every adapter: the context (it reads the CA store, so it
is I/O and stays out of the core and out of construction), and what a failed
certificate check means for a waiting ``connect()``.

A context is made only when a connection needs TLS, and the default ones
(verifying with the system CAs, or ``ssl_no_verify``) are made once per process
and shared by every client: ``ssl.create_default_context()`` per client was most
of the 851 KiB an idle connection cost (issue 12).
"""

from __future__ import annotations

import logging
import ssl
import threading

from centrifugo_proto.errors import TransportError

from ._base.client import ClientBase, S

__all__ = ["CertificateError", "TlsClient", "certificate_error", "client_context", "shared_context"]

log = logging.getLogger("centrifugo_proto.adapters")
_made: dict[bool, ssl.SSLContext] = {}  # ssl_no_verify → the shared default context
_making = threading.Lock()  # clients of several threads may ask at once


class CertificateError(TransportError, ssl.SSLCertVerificationError):
    """The server's certificate does not verify: a waiting ``connect()`` raises it at
    once (retrying will not help; the client still retries with backoff). Both a
    ``TransportError`` and the ``ssl.SSLCertVerificationError`` it comes from
    (its ``__cause__``), so either ``except`` catches it."""

    @classmethod
    def from_ssl(cls, error: ssl.SSLCertVerificationError) -> CertificateError:
        copy = cls(*error.args)
        for name in ("verify_code", "verify_message", "reason", "library"):
            setattr(copy, name, getattr(error, name, None))
        copy.__cause__ = error
        return copy


def shared_context(no_verify: bool) -> ssl.SSLContext:
    """The process's default client context: verifying with the system CAs, or
    (``no_verify``) checking nothing. Made on first use."""
    with _making:
        context = _made.get(no_verify)
        if context is None:
            context = ssl.create_default_context()
            if no_verify:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            _made[no_verify] = context
    return context


def client_context(ssl_context: ssl.SSLContext | None, no_verify: bool) -> ssl.SSLContext:
    """``ssl_context`` if given, else the shared default (``shared_context``)."""
    return ssl_context if ssl_context is not None else shared_context(no_verify)


def certificate_error(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate failure behind ``exc`` (trio wraps it), if that is what it is."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None or isinstance(seen, ssl.SSLCertVerificationError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


class TlsClient(ClientBase[S]):
    """What every adapter's ``Client`` mixes in: its TLS context, made when first
    needed, and the certificate rule for ``_fatal``. A ClientBase itself, so that the
    context's slot is ClientBase's: two bases with slots of their own cannot mix."""

    __slots__ = ()

    def _tls_context(self) -> ssl.SSLContext:
        tls: ssl.SSLContext | None = self._tls
        if tls is None:
            if self._ssl_no_verify:
                log.warning(
                    "ssl_no_verify=True: the server's TLS certificate is NOT verified; "
                    "anyone on the path can read and change the traffic"
                )
            tls = self._tls = client_context(self._ssl_context, self._ssl_no_verify)
        return tls

    def _fatal(self, error: BaseException) -> BaseException | None:
        cert = certificate_error(error)
        return None if cert is None else CertificateError.from_ssl(cert)
