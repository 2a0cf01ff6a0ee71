"""The commands, each written once for the three adapters (``_runtime``).

A command that talks to the server connects through :func:`_connected`, which
fails fast: the client library retries a refused connection with backoff (what
an application wants), but a command-line user wants the reason now, so the
first connection error before the first connect closes the client and becomes
the exit code. Once connected, a ``subscribe`` rides out reconnects (with
``--recover``, without losing a publication), saying so on stderr.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from centrifugo_proto.api.exchange import check_header_secret, check_status
from centrifugo_proto.errors import (
    ApiError,
    CentrifugoError,
    DecodeError,
    LegacyApiError,
    LocalProtocolError,
    RemoteProtocolError,
    ReplyError,
    TokenError,
    TransportError,
    Unauthorized,
)
from centrifugo_proto.events import (
    Connected,
    Connecting,
    Disconnected,
    ErrorOccurred,
    JoinReceived,
    LeaveReceived,
    PublicationsLost,
    Subscribed,
    TokenRefreshed,
    Unsubscribed,
)
from centrifugo_proto.options import ClientOptions
from centrifugo_proto.tokens import connection_token, generate_token, subscription_token

from ._args import Settings, parse_json
from ._exits import TOKEN_EXPIRED_CODES, CliError, Exit, Stage, failure
from ._output import Output
from ._runtime import Runtime, Session, Subscription

__all__ = ["api", "gentoken", "history", "presence", "publish", "rpc", "subscribe"]

T = TypeVar("T")


class _Watch:
    """The client's callbacks the CLI needs: fail fast before the first connect,
    end a subscribe the server ended, report reconnects."""

    def __init__(self, rt: Runtime, session: Session, settings: Settings, out: Output) -> None:
        self._close = rt.closer(session)
        self._url = settings.url
        self._out = out
        self.connected = False
        self.subscribed = False
        #: The command is done: what follows (our own close) is no news.
        self.done = False
        self.ended: CliError | None = None
        session.on("error", self._on_error)
        session.on("connected", self._on_connected)
        session.on("connecting", self._on_connecting)
        session.on("disconnected", self._on_disconnected)
        session.on("refresh", self._on_refresh)

    def _end(self, error: CliError) -> object:
        """Close the client from its callback (once): what waits on it ends."""
        if self.ended is not None or self.done:
            return None
        self.ended = error
        return self._close()

    def printing(self, callback: Callable[[Any], None]) -> Callable[[Any], object]:
        """``callback``, which prints; a closed pipe ends the command (exit 141)
        instead of being logged as a failed callback."""

        def guarded(event: Any) -> object:
            try:
                callback(event)
            except BrokenPipeError:
                return self._end(CliError(Exit.BROKEN_PIPE, ""))
            return None

        return guarded

    def _on_error(self, event: ErrorOccurred) -> object:
        error = event.error
        if self.connected or event.channel is not None:
            return None
        if isinstance(error, TransportError | RemoteProtocolError):
            return self._end(failure(error, Stage.CONNECT, f"cannot connect to {self._url}"))
        if isinstance(error, ReplyError) and error.code in TOKEN_EXPIRED_CODES:
            # A token source gave the expired token again: it will not get better.
            return self._end(failure(error, Stage.CONNECT, f"connect to {self._url}"))
        return None

    def _on_connected(self, event: Connected) -> None:
        self.connected = True

    def _on_connecting(self, event: Connecting) -> None:
        if self.connected:
            self._out.status(f"connection lost ({event.reason}); reconnecting")

    def _on_refresh(self, event: TokenRefreshed) -> None:
        if event.channel is None:
            self._out.status(f"connection token refreshed (expires in {event.ttl} s)")

    def _on_disconnected(self, event: Disconnected) -> object:
        if not self.subscribed or event.error is None:
            return None  # a refused connect raises from connect(); close() is ours
        return self._end(failure(event.error, Stage.RUNNING, "disconnected by the server"))

    def watch_subscription(self, sub: Subscription, channel: str) -> None:
        sub.on("subscribed", lambda event: self._on_subscribed(event, channel))
        sub.on("unsubscribed", self._on_unsubscribed)
        sub.on("publications_lost", self._on_lost)

    def _on_subscribed(self, event: Subscribed, channel: str) -> None:
        if self.subscribed:
            recovered = "recovered" if event.recovered else "not recovered"
            self._out.status(f"subscribed to {channel!r} again ({recovered})")
        self.subscribed = True

    def _on_unsubscribed(self, event: Unsubscribed) -> object:
        if not self.subscribed:
            return None
        why = f"{event.code}: {event.reason}" if event.reason else str(event.code)
        return self._end(
            CliError(Exit.ENDED_BY_SERVER, f"unsubscribed from {event.channel!r} ({why})")
        )

    def _on_lost(self, event: PublicationsLost) -> None:
        count = f"{event.count} " if event.count else ""
        where = f" after offset {event.since.offset}" if event.since else ""
        self._out.status(f"{count}publications lost{where} ({event.reason})")


async def _connected(
    rt: Runtime,
    settings: Settings,
    out: Output,
    body: Callable[[Session, _Watch], Awaitable[T]],
) -> T:
    """Connect, run ``body``, close; what goes wrong becomes a :class:`CliError`."""
    if settings.protocol == "v1" and settings.token is None:
        raise CliError(Exit.USAGE, "--protocol v1 needs --user, --timestamp and --token")
    options = ClientOptions(timeout=settings.timeout)
    extra: dict[str, Any] = {"token": settings.token, "codec": settings.codec}
    extra["protocol"] = settings.protocol
    if settings.token_file is not None and settings.protocol == "current":
        extra["get_token"] = _reread(settings.token_file)
    try:
        session = rt.client(settings.url, options=options, name="centrifugo-proto", **extra)
    except LocalProtocolError as exc:
        raise CliError(Exit.USAGE, str(exc)) from None
    watch = _Watch(rt, session, settings, out)
    stage = Stage.CONNECT
    try:
        async with session:
            stage = Stage.COMMAND
            result = await body(session, watch)
            watch.done = True
    except CliError:
        raise
    except CentrifugoError as exc:
        if watch.ended is not None:
            raise watch.ended from None
        what = f"connect to {settings.url}" if stage is Stage.CONNECT else settings.url
        raise failure(exc, stage, what) from None
    if watch.ended is not None:
        raise watch.ended
    return result


def _reread(path: str) -> Callable[..., str]:
    """``get_token`` for ``--token-file``: the file again, whenever the client needs a
    fresh connection token (before expiry, after error 109); so a long ``subscribe``
    lives as long as something renews the file. Subscription tokens are not in it."""

    def get_token(channel: str | None = None) -> str:
        if channel is not None:
            raise Unauthorized(f"no subscription token for {channel!r} in {path}")
        try:
            with open(path, encoding="utf-8") as file:
                return file.read().strip()
        except OSError as exc:
            raise TokenError(f"cannot read the token file: {exc}") from None

    return get_token


async def _subscribe(
    session: Session,
    watch: _Watch,
    channel: str,
    settings: Settings,
    out: Output,
    callbacks: Mapping[str, Callable[[Any], object]] | None = None,
    **options: Any,
) -> tuple[Subscription, Subscribed]:
    """Subscribe (``callbacks`` registered first, so none of their events is missed)."""
    sub: Subscription = session.new_subscription(channel, **options)
    watch.watch_subscription(sub, channel)
    for name, callback in (callbacks or {}).items():
        sub.on(name, callback)
    try:
        event = await sub.subscribe(settings.timeout)
    except CentrifugoError as exc:
        if watch.ended is not None:
            raise watch.ended from None
        raise failure(exc, Stage.SUBSCRIBE, f"subscribe to {channel!r}") from None
    position = event.position
    where = f" (offset {position.offset}, epoch {position.epoch})" if position else ""
    recovered = "; recovered" if event.recovered else ""
    out.status(f"subscribed to {channel!r}{where}{recovered}")
    return sub, event


# -- the commands that connect -----------------------------------------------------------------


async def subscribe(rt: Runtime, settings: Settings, out: Output, args: Any) -> None:
    options: dict[str, Any] = {}
    if args.recover or args.since is not None:
        options["recoverable"] = True
    if args.since is not None:
        options["since"] = args.since
    if args.join_leave:
        options["join_leave"] = True
    if args.delta:
        options["delta"] = "fossil"
    if args.sub_token:
        options["token"] = args.sub_token

    async def body(session: Session, watch: _Watch) -> None:
        callbacks: dict[str, Callable[[Any], object]] = {}
        if args.join_leave:
            callbacks["join"] = watch.printing(lambda ev: _presence_event(out, "join", ev))
            callbacks["leave"] = watch.printing(lambda ev: _presence_event(out, "leave", ev))
        sub, subscribed = await _subscribe(
            session, watch, args.channel, settings, out, callbacks, **options
        )
        epoch = subscribed.position.epoch if subscribed.position else ""
        seen = 0
        async for pub in sub:
            epoch = pub.epoch or epoch  # news of the epoch come once, on the first one
            out.publication(pub, epoch)
            seen += 1
            if seen == args.count:
                break

    await _connected(rt, settings, out, body)


def _presence_event(out: Output, kind: str, event: JoinReceived | LeaveReceived) -> None:
    out.presence(event.channel, kind, event.info)


def _payload(settings: Settings, text: str) -> Any:
    """DATA_JSON as the codec carries payloads: the JSON value, or for a codec of
    bytes (Protobuf) the JSON text's bytes, so that JSON clients of the same
    channel get the same value. The codec's own check decides, not its name."""
    value = parse_json(text, "DATA_JSON")
    if isinstance(settings.codec, str):
        return value  # a codec the client does not know: it says so at connect
    try:
        settings.codec.check_payload(value)
    except LocalProtocolError:
        return text.encode()
    return value


async def publish(rt: Runtime, settings: Settings, out: Output, args: Any) -> None:
    data = _payload(settings, args.data)

    async def body(session: Session, watch: _Watch) -> None:
        await _maybe_subscribed(session, watch, settings, out, args)
        try:
            await session.publish(args.channel, data, timeout=settings.timeout)
        except CentrifugoError as exc:
            raise failure(exc, Stage.COMMAND, f"publish to {args.channel!r}") from None
        out.status(f"published to {args.channel!r}")

    await _connected(rt, settings, out, body)


async def _maybe_subscribed(
    session: Session, watch: _Watch, settings: Settings, out: Output, args: Any
) -> None:
    if args.as_subscriber:
        options = {"token": args.sub_token} if args.sub_token else {}
        await _subscribe(session, watch, args.channel, settings, out, None, **options)


#: The history ``limit`` that asks for everything: -1 (0 is only the stream's
#: position); 1.x history takes no limit, and its default (0) gives all it keeps.
_ALL = {"current": -1, "v1": 0}


async def history(rt: Runtime, settings: Settings, out: Output, args: Any) -> None:
    limit = _ALL.get(settings.protocol, -1) if args.limit is None else args.limit

    async def body(session: Session, watch: _Watch) -> None:
        await _maybe_subscribed(session, watch, settings, out, args)
        try:
            result = await session.history(
                args.channel, limit=limit, reverse=args.reverse, timeout=settings.timeout
            )
        except CentrifugoError as exc:
            raise failure(exc, Stage.COMMAND, f"history of {args.channel!r}") from None
        for pub in result.publications:
            out.publication(pub, result.epoch)
        count = len(result.publications)
        where = f"; stream at offset {result.offset}, epoch {result.epoch}" if result.epoch else ""
        out.status(f"{count} publication{'s' * (count != 1)} in {args.channel!r}{where}")

    await _connected(rt, settings, out, body)


async def presence(rt: Runtime, settings: Settings, out: Output, args: Any) -> None:
    async def body(session: Session, watch: _Watch) -> None:
        await _maybe_subscribed(session, watch, settings, out, args)
        try:
            result = await session.presence(args.channel, timeout=settings.timeout)
        except CentrifugoError as exc:
            raise failure(exc, Stage.COMMAND, f"presence of {args.channel!r}") from None
        for client_id in sorted(result.clients):
            out.client(client_id, result.clients[client_id])
        count = len(result.clients)
        out.status(f"{count} client{'s' * (count != 1)} in {args.channel!r}")

    await _connected(rt, settings, out, body)


async def rpc(rt: Runtime, settings: Settings, out: Output, args: Any) -> None:
    data = _payload(settings, args.data)

    async def body(session: Session, watch: _Watch) -> None:
        try:
            result = await session.rpc(args.method, data, timeout=settings.timeout)
        except CentrifugoError as exc:
            raise failure(exc, Stage.COMMAND, f"rpc {args.method!r}") from None
        out.value(result.data)

    await _connected(rt, settings, out, body)


# -- the server API ----------------------------------------------------------------------------


def _failed_items(result: Any) -> list[Any]:
    """The errors of a batch's replies or a broadcast's responses."""
    if not isinstance(result, Mapping):
        return []
    items = result.get("replies", result.get("responses", []))
    if not isinstance(items, list):
        return []
    return [item["error"] for item in items if isinstance(item, Mapping) and "error" in item]


def _answer(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise DecodeError(f"the answer is not JSON: {body[:200]!r}") from None


async def api(rt: Runtime, settings: Settings, out: Output, args: Any) -> None:
    """``POST <api url>/<method>`` with ``X-API-Key`` (1.x: ``POST <api url>`` with
    ``{"method", "params"}`` signed in ``X-API-Sign``); the result is printed as the
    server gave it, every method the server has, even ones this client has no
    typed request for."""
    params = parse_json(args.params, "PARAMS_JSON")
    if not settings.api_key:
        raise CliError(Exit.USAGE, "api needs --api-key (or CENTRIFUGO_API_KEY)")
    try:
        key = check_header_secret(settings.api_key, "--api-key")
    except LocalProtocolError as exc:
        raise CliError(Exit.USAGE, str(exc)) from None
    what = f"api {args.method} at {settings.api_url}"
    headers = [("Content-Type", "application/json"), ("Accept", "application/json")]
    if settings.protocol == "v1":
        url = settings.api_url
        body = json.dumps({"method": args.method, "params": params}).encode()
        headers.append(("X-API-Sign", generate_token(key, body.decode())))
    else:
        url = f"{settings.api_url.rstrip('/')}/{args.method}"
        body = json.dumps(params).encode()
        headers.append(("X-API-Key", key))
    try:
        async with rt.http(settings.timeout) as http:
            response = await http.request("POST", url, headers=headers, body=body)
        check_status(response)
        result = _result(args.method, _answer(response.body), settings.protocol)
    except CentrifugoError as exc:
        raise failure(exc, Stage.API, what) from None
    out.value(result)
    failed = _failed_items(result)
    if failed:
        raise CliError(Exit.API_ERROR, f"{what}: {len(failed)} item(s) failed: {failed}")


def _result(method: str, answer: Any, protocol: str) -> Any:
    """The result in an answer, or the error it carries, raised."""
    if protocol == "v1":  # an array, one entry per command (LEGACY-V1.md §11.9)
        entry = answer[0] if isinstance(answer, list) and answer else answer
        if not isinstance(entry, Mapping):
            raise DecodeError(f"unexpected answer: {answer!r}")
        if entry.get("error"):
            raise LegacyApiError(method, str(entry["error"]), str(entry.get("advice") or ""))
        return entry.get("body")
    if not isinstance(answer, Mapping):
        raise DecodeError(f"unexpected answer: {answer!r}")
    error = answer.get("error")
    if isinstance(error, Mapping):
        raise ApiError(int(error.get("code", 0)), str(error.get("message", "")))
    return answer.get("result", answer)  # batch: {"replies": [...]}


# -- tokens -------------------------------------------------------------------------------------


def gentoken(out: Output, args: Any, env: Mapping[str, str], now: float) -> None:
    secret = args.secret or env.get("CENTRIFUGO_SECRET")
    if not secret:
        raise CliError(Exit.USAGE, "gentoken needs --secret (or CENTRIFUGO_SECRET)")
    if args.legacy:
        out.raw(_legacy_token(secret, args, now))
        return
    if args.gen_user is None:
        raise CliError(Exit.USAGE, "gentoken needs --user (the sub claim; '' for anonymous)")
    if args.gen_timestamp is not None or args.client is not None:
        raise CliError(Exit.USAGE, "--timestamp and --client are for --legacy tokens")
    claims = parse_json(args.claims, "--claims") if args.claims else {}
    if not isinstance(claims, dict):
        raise CliError(Exit.USAGE, f"--claims must be a JSON object, got {args.claims!r}")
    if args.gen_info is not None:
        claims["info"] = parse_json(args.gen_info, "--info")
    exp = int(now) + args.ttl if args.ttl else None
    try:
        if args.channel is not None:
            token = subscription_token(secret, args.gen_user, args.channel, exp=exp, **claims)
        else:
            token = connection_token(secret, args.gen_user, exp=exp, **claims)
    except (TypeError, ValueError) as exc:
        raise CliError(Exit.USAGE, f"cannot make the token: {exc}") from None
    out.raw(token)


def _legacy_token(secret: str, args: Any, now: float) -> str:
    """1.x: ``generate_token(secret, user, timestamp, info)``, or a private channel's
    sign ``generate_token(secret, client, channel, info)`` (LEGACY-V1.md §5)."""
    info = args.gen_info or ""
    if args.claims is not None:
        raise CliError(Exit.USAGE, "--claims is for JWTs, not --legacy tokens")
    if args.client is not None or args.channel is not None:
        if args.client is None or args.channel is None:
            raise CliError(Exit.USAGE, "a 1.x channel sign needs both --client and --channel")
        return generate_token(secret, args.client, args.channel, info)
    if args.gen_user is None:
        raise CliError(Exit.USAGE, "gentoken --legacy needs --user")
    timestamp = args.gen_timestamp if args.gen_timestamp is not None else str(int(now))
    return generate_token(secret, args.gen_user, timestamp, info)


def clock() -> float:
    """Wall-clock seconds, for token expiry and 1.x timestamps."""
    return time.time()
