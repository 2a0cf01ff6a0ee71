"""Token sources (§6.3, §6.4): which one answers a ``TokenRequested``, and what a
source may be.

A subscription's own ``get_token(channel)`` answers for its channel, else the
client's ``get_token(channel)``; the connection token is ``get_token()``. The
async adapters await what a source returns; the blocking adapter calls sources
on a thread of its own and refuses async ones when they are given, since it
could never await them.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from centrifugo_proto.errors import LocalProtocolError, Unauthorized
from centrifugo_proto.events import TokenRequested

__all__ = ["check_token_source", "not_awaitable", "source_for"]


def check_token_source(getter: object, *, awaitable: bool) -> None:
    """Refuse, at construction, a source that is not callable, or an async one
    where the adapter cannot await it."""
    if getter is None:
        return
    if not callable(getter):
        raise LocalProtocolError(f"get_token must be callable, got {getter!r}")
    if not awaitable and (
        inspect.iscoroutinefunction(getter)
        or inspect.iscoroutinefunction(getattr(getter, "__call__", None))  # noqa: B004
    ):
        raise LocalProtocolError(
            f"get_token {getter!r} is an async function: the blocking adapter calls it on "
            "a thread of its own and cannot await it; give a plain function (or use the "
            "asyncio or trio adapter)"
        )


def source_for(
    event: TokenRequested, client_getter: Callable[..., Any] | None, subs: Mapping[str, Any]
) -> Callable[[], Any]:
    """What answers ``event``: the subscription's ``get_token(channel)`` if it has
    one, else the client's (``get_token()`` for the connection token). Raises
    ``Unauthorized`` when there is none (the core then stops asking)."""
    channel = event.channel
    sub = subs.get(channel) if channel is not None else None
    own = getattr(sub, "get_token", None)
    getter = own if own is not None else client_getter
    if getter is None:
        raise Unauthorized(f"no get_token for {channel!r}")
    return getter if channel is None else partial(getter, channel)


def not_awaitable(value: object, what: str = "get_token") -> object:
    """``value`` itself, unless it is an awaitable nobody will await (in the blocking
    adapter, a plain source or callback that returned a coroutine): closed, and
    refused."""
    if inspect.isawaitable(value):
        close = getattr(value, "close", None)
        if callable(close):
            close()  # no "never awaited" warning later
        raise LocalProtocolError(
            f"{what} returned an awaitable: the blocking adapter needs a plain function "
            "(or use the asyncio or trio adapter)"
        )
    return value
