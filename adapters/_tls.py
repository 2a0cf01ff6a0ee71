"""The TLS context every adapter uses for ``wss://`` (it reads the CA store, so it
is I/O and stays out of the core)."""

from __future__ import annotations

import logging
import ssl

log = logging.getLogger("centrifugo_proto.adapters")


def client_context(ssl_context: ssl.SSLContext | None, ssl_no_verify: bool) -> ssl.SSLContext:
    """``ssl_context`` if given; else the system's verifying context, or with
    ``ssl_no_verify`` one that checks nothing (logged as a warning)."""
    if ssl_context is not None:
        if ssl_no_verify:
            raise ValueError("give ssl_context or ssl_no_verify, not both")
        return ssl_context
    context = ssl.create_default_context()
    if ssl_no_verify:
        log.warning(
            "ssl_no_verify=True: the server's TLS certificate is NOT verified; "
            "anyone on the path can read and change the traffic"
        )
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def certificate_error(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate failure behind ``exc`` (trio wraps it), if that is what it is:
    retrying will not help, so a waiting ``connect()`` raises it at once."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None or isinstance(seen, ssl.SSLCertVerificationError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None
