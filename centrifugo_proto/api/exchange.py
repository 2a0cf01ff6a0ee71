"""One server API call as HTTP: the request to send and what its response means.

The adapters' API clients do only the I/O: they send :func:`http_request`'s
request on a kept-alive connection and hand the response to
:func:`read_response`, which returns the typed result or raises the typed error
(PROTOCOL.md §8: ``POST <api url>/<method>``, ``X-API-Key``; a refused key is
HTTP 401 with no body, a body the server cannot parse HTTP 400 as text).
"""

from __future__ import annotations

from typing import Any, Final, TypeVar

from ..errors import ApiHttpError, ApiUnauthorized, LocalProtocolError
from ..http import HttpRequest, HttpResponse
from ..http_url import HttpUrl
from .decode import decode_answer
from .encode import encode_body
from .requests import ApiRequest

__all__ = ["JSON_HEADERS", "check_header_secret", "check_status", "http_request", "read_response"]

R = TypeVar("R")

JSON_HEADERS: Final = (("Content-Type", "application/json"), ("Accept", "application/json"))
#: How much of a non-200 body an error carries (the server's text is short).
_BODY_EXCERPT: Final = 200


def check_header_secret(value: Any, what: str) -> str:
    """An API key or secret the caller gives: a str a header can carry. The error
    never shows the value."""
    if not isinstance(value, str):
        raise LocalProtocolError(f"{what} must be a str, got {type(value).__name__}")
    try:
        HttpRequest(method="POST", target="/", headers=(("X-Check", value),))
    except LocalProtocolError:
        raise LocalProtocolError(f"{what} must be visible ASCII (it travels in a header)") from None
    return value


def http_request(url: HttpUrl, api_key: str, request: ApiRequest[Any]) -> HttpRequest:
    """The POST of ``request`` to ``<url>/<route>`` with the key in ``X-API-Key``."""
    if not isinstance(request, ApiRequest):
        raise LocalProtocolError(f"expected an API request, got {type(request).__name__}")
    return HttpRequest(
        method="POST",
        target=url.join(request.route),
        headers=(*JSON_HEADERS, ("X-API-Key", api_key)),
        body=encode_body(request),
    )


def check_status(response: HttpResponse) -> None:
    """:class:`ApiUnauthorized` for 401, :class:`ApiHttpError` for any other
    status but 200 (the server API answers every command with 200)."""
    if response.status == 200:
        return
    excerpt = response.body[:_BODY_EXCERPT].decode("utf-8", "replace").strip()
    kind = ApiUnauthorized if response.status == 401 else ApiHttpError
    raise kind(response.status, response.reason, excerpt)


def read_response(request: ApiRequest[R], response: HttpResponse) -> R:
    """The result of ``request``, or the error its response means."""
    check_status(response)
    return decode_answer(request, response.body)
