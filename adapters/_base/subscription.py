"""A client subscription as the adapters show it: its options, its bounded buffer
for ``for``/``async for``, its callbacks, and what it tells a lagging reader.

A reader that fell behind is told of dropped publications without its loop
ending (issue 8; docs/resilience.md): iteration yields only publications, and
where the buffer dropped some, the subscription counts them (:attr:`dropped`,
:attr:`last_drop`) and fires ``publications_lost`` with the core's
:class:`PublicationsLost` (count, and the position before the first dropped).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Generic, TypedDict, TypeVar

from centrifugo_proto.delta import DeltaStats
from centrifugo_proto.errors import CommandTimeout
from centrifugo_proto.events import PublicationsLost
from centrifugo_proto.filters import FilterNode
from centrifugo_proto.results import Publication, StreamPosition
from centrifugo_proto.states import SubscriptionState

from .buffer import DEFAULT_BUFFER_LIMIT, PublicationBuffer
from .names import Callbacks
from .waiters import Pending, Wakeup, budget_text

if TYPE_CHECKING:
    from centrifugo_proto.events import Subscribed

    from .client import ClientBase

__all__ = ["SubscribeOptions", "SubscriptionBase", "TokenSource"]

#: A token source: ``get_token(channel)`` for a subscription, ``get_token()`` (or
#: ``get_token(None)``) for the connection; plain, or async in the async adapters.
TokenSource = Callable[..., "str | Awaitable[str]"]

C = TypeVar("C", bound="ClientBase[Any]")
#: Options the adapter keeps; the rest go to the core's ``subscribe``.
_ADAPTER_OPTIONS = frozenset({"buffer_size", "get_token"})


class SubscribeOptions(TypedDict, total=False):
    """What ``new_subscription`` and ``subscribe`` take besides the channel."""

    #: Subscription JWT (private channels, §6.4); or ``get_token`` fetches them.
    token: str | None
    data: Any
    recoverable: bool
    positioned: bool
    join_leave: bool
    #: Recover from this position on the first subscribe.
    since: StreamPosition | None
    #: ``"fossil"``: delta compression (§7); whole payloads are delivered all the same.
    delta: str
    #: Only publications whose tags match (``centrifugo_proto.filters.tags``).
    tags_filter: FilterNode | None
    #: Publications kept for ``for``/``async for`` (docs/resilience.md).
    buffer_size: int
    get_token: TokenSource | None


class SubscriptionBase(Callbacks, Generic[C]):
    """Options as the core's ``subscribe`` takes them, plus ``buffer_size`` and
    ``get_token(channel)`` (this subscription's token source; else the client's)."""

    def __init__(self, client: C, channel: str, options: SubscribeOptions) -> None:
        super().__init__()
        self._buffer = PublicationBuffer(channel, options.get("buffer_size", DEFAULT_BUFFER_LIMIT))
        self.get_token: TokenSource | None = options.get("get_token")
        core: dict[str, Any] = {
            key: value for key, value in options.items() if key not in _ADAPTER_OPTIONS
        }
        if self.get_token is not None:
            core["has_token_source"] = True
        # Checked now, by the core: a refused option leaves no subscription behind.
        client._proto.subscription_options(channel, **core)
        self.client, self.channel = client, channel
        self._options: dict[str, Any] = core
        self._pending: list[Pending[Subscribed]] = []
        self._last_subscribed: Subscribed | None = None
        self._ended = False
        self._readable: Wakeup | None = None
        #: Publications a reader took; whether the client watches this subscription's
        #: reader, the count it saw last and when it changed; whether the reader was a
        #: quarter of the buffer behind when last asked (``ClientBase._readers_behind``).
        self._taken = self._taken_seen = 0
        self._watched = self._behind = False
        self._taken_at = 0.0
        #: The last loss the buffer reported (``publications_lost``), if any.
        self.last_drop: PublicationsLost | None = None

    @property
    def state(self) -> SubscriptionState:
        return self.client._proto.subscription_state(self.channel) or SubscriptionState.UNSUBSCRIBED

    @property
    def delta_stats(self) -> DeltaStats | None:
        """What delta compression did, once the server agreed to it (§7)."""
        return self.client._proto.delta_stats(self.channel)

    @property
    def dropped(self) -> int:
        """Publications the full buffer dropped over this subscription's life."""
        return self._buffer.dropped

    # -- the buffer, for the adapter's ``for`` / ``async for`` ----------------------------

    def _deliver(self, pub: Publication) -> None:
        """Buffer ``pub``; the oldest goes when full. Wakes a waiting reader."""
        self._buffer.push(pub)
        readable = self._readable  # _wake() inline: this runs once per publication
        if readable is not None:
            self._readable = None
            self.client._wake_reader(readable)

    def _end(self) -> None:
        """The client closed: iteration ends once the buffer is drained."""
        self._ended = True
        self._wake()

    def _wake(self) -> None:
        # Set once and let go: the deliveries after it, until a reader waits again,
        # cost nothing (setting a threading.Event takes a lock and notifies, and under
        # a flood that was an eighth of the blocking adapter's I/O thread).
        readable, self._readable = self._readable, None
        if readable is not None:
            readable.set()

    def _arm_reader(self) -> Wakeup:
        """What a reader about to wait waits for, set by the next delivery; readers
        waiting at once share it (a set one is let go, never reused)."""
        if self._readable is None:
            self._readable = self.client._new_wakeup()
        return self._readable

    def _no_publication(self, timeout: float | None) -> CommandTimeout:
        """What a reader's wait for the next publication raises when it runs out."""
        waited = budget_text(timeout or 0)
        return CommandTimeout(f"no publication on {self.channel!r}: timed out; it waited {waited}")

    def _buffered(self) -> int:
        """How many publications wait in the buffer."""
        return len(self._buffer)

    def _ready(self) -> bool:
        """A reader has something to take: a publication, or the end."""
        return self._ended or len(self._buffer) > 0

    def _take(self) -> Publication | None:
        """The next publication; None at the end. A gap on the way is reported
        (counters, ``publications_lost``) and passed. Only when ``_ready()``."""
        item = self._buffer.pop()
        if isinstance(item, PublicationsLost):
            self.last_drop = item
            for callback in self._callbacks.get("publications_lost", ()):
                self.client._schedule(callback, item)
            item = self._buffer.pop()  # a gap is always followed by what pushed it out
            assert not isinstance(item, PublicationsLost)  # one report per gap
        self._taken += 1
        if not self._watched:
            self._watched = True
            self.client._watched.append(self)
        if self._behind and len(self._buffer) <= self._buffer.limit // 8:
            self._behind = False
            self.client._reader_caught_up()
        return item

    # -- waits the adapter's public methods start ----------------------------------------

    def _start_subscribe(self) -> Pending[Subscribed]:
        """Settled at once when subscribed already; else by the next ``Subscribed``,
        a refusal (``ReplyError``) or the caller's unsubscribe (``SubscriptionCancelled``)."""
        client = self.client
        pending: Pending[Subscribed] = Pending(client._new_wakeup())
        if self.state is SubscriptionState.SUBSCRIBED and self._last_subscribed is not None:
            pending.set_result(self._last_subscribed)
            return pending
        self._pending.append(pending)
        try:
            client._call(
                lambda now: client._proto.subscribe(self.channel, now=now, **self._options)
            )
        except BaseException:
            self._pending.remove(pending)
            raise
        return pending

    def _start_unsubscribe(self) -> None:
        """Unsubscribe; a quiet no-op when there is nothing to end (never subscribed,
        or unsubscribed already), as centrifuge-python 0.7 does."""
        if self.state is not SubscriptionState.UNSUBSCRIBED:
            client = self.client
            client._call(lambda now: client._proto.unsubscribe(self.channel, now=now))
