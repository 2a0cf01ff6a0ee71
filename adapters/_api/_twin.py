"""One method written once for an awaiting client (asyncio, trio) and a blocking one,
and how a blocking client runs code written once as a coroutine (:func:`awaitless`).

Most methods of the HTTP and server API clients only turn their typed arguments
into a request and hand it to the one method that does I/O (``call`` or
``send``): the same body serves both kinds, as long as it *returns* that method's
result untouched. :func:`twin` makes such a body a method of both: a blocking
client binds the body itself; an awaiting client binds a coroutine function that
awaits what the body returns (its ``call`` is a coroutine function, so the body
returns a coroutine). The body is typed as the blocking one; the descriptor's
overloads give mypy and IDEs the awaiting one's type on an :class:`Awaiting`
instance, from the same parameters, so no signature is written twice.
"""

from __future__ import annotations

import abc
import functools
from collections.abc import Callable, Coroutine
from types import MethodType, TracebackType
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, overload

__all__ = ["Awaiting", "Blocking", "Twin", "awaitless", "twin"]

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


class Awaiting(abc.ABC):
    """A client whose methods are awaited; ``async with`` closes it."""

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Release what the client holds; calls after this raise. Idempotent."""

    async def __aenter__(self: T) -> T:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class Blocking(abc.ABC):
    """A client whose methods return when they are done; ``with`` closes it."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release what the client holds; calls after this raise. Idempotent."""

    def __enter__(self: T) -> T:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class Twin(Generic[P, R]):
    """The descriptor :func:`twin` makes: the body, or its awaiting twin, bound."""

    def __init__(self, body: Callable[Concatenate[Any, P], R]) -> None:
        self._blocking = body

        @functools.wraps(body)
        async def awaiting(client: Any, *args: Any, **kwargs: Any) -> Any:
            return await body(client, *args, **kwargs)  # type: ignore[misc]  # see the module

        self._awaiting = awaiting

    @overload
    def __get__(
        self, client: Awaiting, owner: type[Any]
    ) -> Callable[P, Coroutine[Any, Any, R]]: ...

    @overload
    def __get__(self, client: Blocking, owner: type[Any]) -> Callable[P, R]: ...

    @overload
    def __get__(self, client: None, owner: type[Any]) -> Callable[..., Any]: ...

    def __get__(self, client: object, owner: type[Any]) -> Callable[..., Any]:
        # A bound method, as a ``def`` in the class gives (inspect.ismethod, and
        # iscoroutinefunction on the awaiting one); on the class, the plain function.
        if client is None:
            return self._awaiting if issubclass(owner, Awaiting) else self._blocking
        function = self._awaiting if isinstance(client, Awaiting) else self._blocking
        return MethodType(function, client)


def twin(body: Callable[Concatenate[Any, P], R]) -> Twin[P, R]:
    """``body`` (which returns what its client's I/O method returns) as a method of
    the blocking and the awaiting clients both."""
    return Twin(body)


def awaitless(coroutine: Coroutine[Any, Any, T]) -> T:
    """What ``coroutine`` returns (or raises), run to its end in the caller's thread:
    it awaits only coroutines that block and return (a blocking driver's), so it
    never suspends."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        result: T = done.value
        return result
    coroutine.close()
    raise RuntimeError("a blocking coroutine suspended: it awaited something that waits")
