"""The 1.x dialect (``protocol="v1"``): Centrifugo 1.x, the Perl ``Centrifugo::Client``'s
protocol (LEGACY-V1.md), as rules the session is given (DESIGN "Dialects").

What differs from the current protocol, and where it is decided here:

- ids are strings (``uid``), and the caller may name one (:attr:`caller_ids`);
- credentials are ``(user, timestamp, info, token)``, each sent as a string
  (:class:`Credentials`; the Perl module sent a numeric user as a number, which
  the server refuses: here it is a string);
- a close is code 3000 with a JSON reason ``{"reason", "reconnect"}`` whose
  ``reconnect`` flag is obeyed (the Perl module ignored it and looped);
  ``expired`` reconnects with fresh credentials;
- ``$`` channels are private: each needs a sign from the application's auth
  endpoint, for this connection's id, on every (re)connect (:class:`ChannelSign`);
- ``&`` channels are the client's own: ``"news&"`` is ``"news&<client id>"`` on
  each connection, and stays ``"news&"`` to the application;
- recovery is by the uid of the last message (``recover`` and ``last``),
  newest-first replies handed on oldest first;
- no ``presence_stats``, ``rpc``, ``send`` or subscription refresh; a ``ping``
  command instead, which the client sends to keep an idle connection alive.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

import attrs

from .codecs import Codec
from .codecs.legacy import LegacyCodec
from .codes import CloseRule
from .commands import (
    ConnectRequest,
    HistoryRequest,
    PingRequest,
    PresenceRequest,
    PublishRequest,
    RefreshRequest,
    SubscribeRequest,
    UnsubscribeRequest,
)
from .dialect import CURRENT, CloseAdvice
from .errors import LocalProtocolError, ReplyError
from .events import (
    JoinReceived,
    LeaveReceived,
    PublicationReceived,
    PublicationsLost,
    Subscribed,
)
from .messages import Join, Leave
from .options import SubscriptionOptions
from .results import Publication, SubscribeResult
from .states import SubscriptionInput
from .subscription import ClientSubscription, SubscriptionHost
from .validate import check_str

__all__ = [
    "LEGACY",
    "ChannelSign",
    "Credentials",
    "LegacyDialect",
    "SignRefused",
    "client_channel",
    "read_sign_answer",
    "sign_request",
]


def _as_string(value: object, what: str) -> str:
    """Every 1.x connect parameter travels as a string (LEGACY-V1.md §1): an int is
    written out (the Perl module sent it as a number and the server closed)."""
    if type(value) is int:
        return str(value)
    return check_str(value, what)


def _user(value: object) -> str:
    return _as_string(value, "user")


def _timestamp(value: object) -> str:
    return _as_string(value, "timestamp")


def _token(value: object) -> str:
    return _as_string(value, "token")


def _info(value: object) -> str:
    return check_str(value, "info")


def _sign(value: object) -> str:
    return check_str(value, "sign")


@attrs.frozen
class Credentials:
    """What a 1.x connection authenticates with (LEGACY-V1.md §2.1, §5): ``token`` is
    ``generate_token(secret, user, timestamp, info)``."""

    user: str = attrs.field(converter=_user)
    timestamp: str = attrs.field(converter=_timestamp)
    token: str = attrs.field(converter=_token)
    info: str = attrs.field(default="", converter=_info)

    def __repr__(self) -> str:  # the token is a secret: never in a log or a repr
        return f"Credentials(user={self.user!r}, timestamp={self.timestamp!r}, token='…')"


@attrs.frozen
class ChannelSign:
    """The auth endpoint's answer for one private channel (LEGACY-V1.md §6):
    ``sign`` is ``generate_token(secret, client, channel, info)``; ``info`` is sent
    exactly as it was signed."""

    sign: str = attrs.field(converter=_sign)
    info: str = attrs.field(default="", converter=_info)

    def __repr__(self) -> str:
        return f"ChannelSign(sign='…', info={self.info!r})"


def client_channel(channel: str, client_id: str | None) -> str:
    """The ``&`` client channel helper: what follows the last ``&`` is this
    connection's id (LEGACY-V1.md §6 "client boundary"; the Perl module's 1.05)."""
    if client_id is None or "&" not in channel:
        return channel
    return channel[: channel.rindex("&") + 1] + client_id


def _private(channel: str) -> bool:
    """``$`` channels need a sign (the server's default ``private_channel_prefix``)."""
    return channel.startswith("$")


# -- the auth endpoint (LEGACY-V1.md §6) ---------------------------------------------------


@attrs.frozen
class SignRefused:
    """No sign for a channel: why, in words a log or an ``Unsubscribed`` can carry."""

    reason: str


def sign_request(client: str, channels: Sequence[str]) -> dict[str, Any]:
    """The JSON body POSTed to the auth endpoint: this connection's id and every
    channel to sign, all in one request (§6; the Perl module sent one per channel)."""
    names = [check_str(channel, "channel") for channel in channels]
    return {"client": check_str(client, "client"), "channels": names}


def read_sign_answer(
    status: int, body: bytes, channels: Sequence[str]
) -> dict[str, ChannelSign | SignRefused]:
    """The auth endpoint's answer, for each channel asked for (LEGACY-V1.md §6).

    Both formats: an object keyed by channel (``{"$a": {"sign", "info"}}``) and
    centrifuge-js 1.4.9's ``{"channels": [{"channel", "sign", "info"}]}``. A
    per-channel ``status`` other than 200 refuses that channel, a channel missing
    from the answer is refused, any HTTP status but 200 refuses them all, and an
    answer that is not JSON fails them all. ``info`` is kept exactly as the
    backend signed it (the Perl module dropped it, so only ``info=""`` worked).
    """
    if status != 200:
        return _refuse_all(channels, f"the auth endpoint answered HTTP {status}")
    try:
        answer = json.loads(body)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        return _refuse_all(channels, f"the auth endpoint's answer is not JSON: {exc}")
    if not isinstance(answer, dict):
        kind = type(answer).__name__
        return _refuse_all(channels, f"the auth endpoint's answer is not a JSON object: {kind}")
    entries: Mapping[str, Any] = answer
    listed = answer.get("channels")
    if isinstance(listed, list):  # ``channels`` cannot be a ``$`` channel's own key
        entries = {
            item["channel"]: item
            for item in listed
            if isinstance(item, dict) and isinstance(item.get("channel"), str)
        }
    return {channel: _channel_sign(channel, entries.get(channel)) for channel in channels}


def _refuse_all(channels: Sequence[str], reason: str) -> dict[str, ChannelSign | SignRefused]:
    refused = SignRefused(reason)
    return dict.fromkeys(channels, refused)


def _channel_sign(channel: str, entry: Any) -> ChannelSign | SignRefused:
    if entry is None:
        return SignRefused(f"{channel!r} is not in the auth endpoint's answer")
    if not isinstance(entry, dict):
        return SignRefused(f"the auth endpoint's entry for {channel!r} is not an object")
    status = entry.get("status", 200)
    if type(status) is not int or status != 200:
        return SignRefused(f"the auth endpoint refused {channel!r}: status {status!r}")
    sign, info = entry.get("sign"), entry.get("info", "")
    if not isinstance(sign, str) or not sign:
        return SignRefused(f"the auth endpoint gave no sign for {channel!r}")
    if info is None:
        info = ""
    if not isinstance(info, str):
        # The sign covers the info string byte for byte (§5): no other type can be sent.
        return SignRefused(f"the auth endpoint's info for {channel!r} is not a string")
    return ChannelSign(sign, info)


class LegacyDialect:
    name: Final = "v1"
    codecs: Final[Mapping[str, Callable[[], Codec]]] = {"json": LegacyCodec}
    caller_commands: Final = frozenset(
        {
            PublishRequest,
            PresenceRequest,
            HistoryRequest,
            PingRequest,
            SubscribeRequest,
            UnsubscribeRequest,
        }
    )
    client_pings: Final = True
    caller_ids: Final = True

    def wire_id(self, number: int) -> str:
        return str(number)

    def close_advice(self, code: int, reason: str) -> CloseAdvice:
        """1.x closes with 3000 and a JSON reason since 1.6.2 (LEGACY-V1.md §1, §11.7);
        a plain reason reconnects unless it is ``disconnect`` (centrifuge-js 1.x)."""
        if code != 3000:
            return CURRENT.close_advice(code, reason)  # 1009, transport-level closes
        try:
            advice = json.loads(reason)
        except ValueError:
            advice = None
        if isinstance(advice, dict) and isinstance(advice.get("reason"), str):
            text, reconnect = advice["reason"], advice.get("reconnect") is True
        else:
            text, reconnect = reason, reason != "disconnect"
        rule = CloseRule(
            reconnect=reconnect,
            # Out of lifetime: reconnect, but with fresh credentials (§7).
            forget_token=text == "expired",
            default_reason="disconnected by the server",
        )
        return CloseAdvice(code=code, reason=text or rule.default_reason, rule=rule)

    def connect_command(
        self,
        credentials: Any,
        *,
        data: Any,
        name: str,
        version: str,
        subs: Mapping[str, SubscribeRequest],
    ) -> ConnectRequest:
        creds = credentials or Credentials("", "", "")
        return ConnectRequest(
            user=creds.user, timestamp=creds.timestamp, info=creds.info, token=creds.token
        )

    def refresh_command(self, credentials: Any) -> RefreshRequest:
        creds: Credentials = credentials
        return RefreshRequest(
            token=creds.token, user=creds.user, timestamp=creds.timestamp, info=creds.info
        )

    def check_credentials(self, value: object) -> Credentials:
        if not isinstance(value, Credentials):
            kind = type(value).__name__
            raise LocalProtocolError(f"1.x credentials must be a Credentials, got {kind}")
        return value

    def check_sub_token(self, value: object) -> ChannelSign:
        if not isinstance(value, ChannelSign):
            kind = type(value).__name__
            raise LocalProtocolError(f"a 1.x channel sign must be a ChannelSign, got {kind}")
        return value

    def subscription(
        self, host: SubscriptionHost, channel: str, options: SubscriptionOptions
    ) -> ClientSubscription:
        return LegacySubscription(host, channel, options)

    def wire_channel(self, channel: str, client_id: str | None) -> str:
        return client_channel(channel, client_id)

    @property
    def needs_sub_token(self) -> Callable[[str], bool]:
        return _private


#: The dialect of ``protocol="v1"``.
LEGACY: Final = LegacyDialect()


#: What a 1.x subscription holds at most while its subscribe is in flight.
_MAX_EARLY: Final = 4096


class LegacySubscription(ClientSubscription):
    """A 1.x subscription: recovery by the uid of the last message (LEGACY-V1.md §2.3).

    The Perl module's recovery bugs (§8 item 4) are not here: messages recovered
    with ``recovered: false`` are delivered, not dropped (and the loss before them
    reported); the last uid is not overwritten by the reply's empty ``last``; the
    position of a ``&`` channel is kept under its own name, not the expanded one.
    """

    def __init__(self, host: SubscriptionHost, channel: str, options: SubscriptionOptions) -> None:
        super().__init__(host, channel, options)
        #: The uid of the last message delivered (``last`` of the next recovery).
        self.last_uid = ""
        self._asked = False
        #: The uids the last subscribe recovered: the server may send some of them
        #: live too, after its reply (published as it read its history).
        self._recovered: frozenset[str] = frozenset()
        #: What came for the channel while its subscribe was in flight (see `hold`).
        self._early: deque[Publication | Join | Leave] = deque()
        self._early_dropped = 0

    def send_subscribe(self, now: float) -> None:
        self._forget_early()  # held for a subscribe before this one
        super().send_subscribe(now)

    def hold(self, item: Publication | Join | Leave) -> bool:
        # 1.8.0 adds the subscriber to the channel before it reads the history it
        # recovers from, and sends its own join before the reply (LEGACY-V1.md §11.2):
        # a message published meanwhile comes before the reply, and would be lost.
        # Kept for the reply, up to a bound on what a server can make us hold.
        if self._inflight is None:
            return False
        early = self._early
        if len(early) == _MAX_EARLY and isinstance(early.popleft(), Publication):
            self._early_dropped += 1  # the oldest, as a full buffer does (the loss first)
        early.append(item)
        return True

    def _forget_early(self) -> None:
        self._early, self._early_dropped = deque(), 0

    def _on_subscribe_error(self, error: ReplyError, now: float) -> None:
        self._forget_early()
        super()._on_subscribe_error(error, now)

    def _request(self) -> SubscribeRequest:
        sign: ChannelSign | None = self._token
        wire = client_channel(self.channel, self._host.client_id)
        if wire != self.channel:
            self._host.alias(wire, self.channel)
        # ``recover`` is the seed's option; there is a position once a message came.
        self._asked = self.options.recoverable and bool(self.last_uid)
        return SubscribeRequest(
            channel=wire,
            token="" if sign is None else sign.sign,
            info="" if sign is None else sign.info,
            client=self._host.client_id or "",
            recover=self._asked,
            last=self.last_uid if self._asked else "",
        )

    def _subscribed(self, result: SubscribeResult, now: float) -> None:
        self._input(SubscriptionInput.SUBSCRIBE_SUCCEEDED)
        self._attempt = 0
        self.track_offsets = True  # every message moves the position
        recovered = [
            attrs.evolve(p, channel=self.channel)
            for p in result.publications
            if p.uid != self.last_uid
        ]
        self._recovered = frozenset(p.uid for p in recovered)
        if recovered:
            self.last_uid = recovered[-1].uid
        elif result.last and not self._asked:
            self.last_uid = result.last  # the newest in history: recover from there later
        emit = self._host.emit
        emit(
            Subscribed(
                channel=self.channel,
                result=result,
                position=None,
                was_recovering=self._asked,
                recovered=result.recovered,
            )
        )
        for pub in recovered:
            emit(PublicationReceived(publication=pub))
        if self._asked and not result.recovered:
            # ``last`` fell out of history: what came between is gone (§2.3).
            emit(PublicationsLost(channel=self.channel, since=None, reason="recovery failed"))
        early, dropped = self._early, self._early_dropped
        self._forget_early()
        if dropped:
            emit(
                PublicationsLost(
                    channel=self.channel, since=None, reason="buffer full", count=dropped
                )
            )
        for item in early:  # newer than the history, or in it (then skipped)
            if isinstance(item, Publication):
                if (delivered := self.publication(item, now)) is not None:
                    emit(PublicationReceived(publication=delivered))
            else:
                event = JoinReceived if isinstance(item, Join) else LeaveReceived
                emit(event(channel=self.channel, info=item.info))

    def publication(self, pub: Publication, now: float) -> Publication | None:
        if pub.uid:
            if pub.uid == self.last_uid or pub.uid in self._recovered:
                return None  # delivered already (a recovered one arriving live too)
            self.last_uid = pub.uid
        return pub if pub.channel == self.channel else attrs.evolve(pub, channel=self.channel)

    def connection_lost(self) -> None:
        self._forget_early()
        # A sign is for one connection id: the next connection needs a new one (§6),
        # and a sign still being fetched for this one is stale once it comes.
        if _private(self.channel):
            self._token = None
            self._host.tokens.forget_channel(self.channel)
        super().connection_lost()
