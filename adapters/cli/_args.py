"""The command line: the parser, and the settings it resolves (options, then
the environment, then defaults).

The options shared by the commands that talk to a server may come before or
after the command's name (``centrifugo-proto --url U publish ...`` and
``centrifugo-proto publish ... --url U``). They default to ``SUPPRESS`` at both
levels, so a value given at one level is never overwritten by the other's
default; the environment and the defaults are applied afterwards, in
:func:`settings`.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from typing import Any

import attrs

from centrifugo_proto.codecs import Codec
from centrifugo_proto.dialect import resolve_dialect
from centrifugo_proto.endpoints import parse_endpoint
from centrifugo_proto.errors import LocalProtocolError
from centrifugo_proto.http_url import parse_http_url
from centrifugo_proto.legacy import Credentials
from centrifugo_proto.results import StreamPosition

from ._exits import CliError, Exit, exit_table
from ._runtime import ADAPTERS

__all__ = ["Settings", "parse_json", "parser", "settings"]

DEFAULT_URL = "ws://127.0.0.1:8000/connection/websocket"
DEFAULT_TIMEOUT = 10.0
PROTOCOLS = ("current", "v1")

_DESCRIPTION = """\
A command-line client for Centrifugo: subscribe, publish, history, presence, rpc,
the server HTTP API, and tokens. Output piped: one JSON object per line; on a
terminal: a readable form (--format chooses)."""

_EPILOG = f"""\
environment:
  CENTRIFUGO_URL       WebSocket endpoint (--url; default {DEFAULT_URL})
  CENTRIFUGO_API_URL   server API base URL (--api-url; default: --url's host, /api)
  CENTRIFUGO_TOKEN     connection token (--token, --token-file)
  CENTRIFUGO_API_KEY   server API key (--api-key); with --protocol v1, the API secret
  CENTRIFUGO_SECRET    gentoken's HMAC secret (--secret)

exit codes:
{exit_table()}

`centrifugo-proto COMMAND --help` describes each command; docs/cli.md has examples."""


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds: {text!r}")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


def _position(text: str) -> StreamPosition:
    offset, colon, epoch = text.partition(":")
    if not colon or not offset.isdigit():
        raise argparse.ArgumentTypeError(f"expected OFFSET:EPOCH (like 42:abcd), got {text!r}")
    return StreamPosition(int(offset), epoch)


def parse_json(text: str, what: str) -> Any:
    """A JSON argument; a usage error (exit 2) if it is not JSON."""
    try:
        return json.loads(text)
    except ValueError as exc:
        raise CliError(Exit.USAGE, f"{what} is not valid JSON ({exc}): {text!r}") from None


def _common() -> argparse.ArgumentParser:
    """The options of every command that talks to a server."""
    common = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    group = common.add_argument_group("connection (also before the command)")
    group.add_argument("--url", help="WebSocket endpoint [CENTRIFUGO_URL]")
    group.add_argument("--api-url", help="server API base URL [CENTRIFUGO_API_URL]")
    group.add_argument("--token", help="connection token (JWT) [CENTRIFUGO_TOKEN]")
    group.add_argument("--token-file", help="read the connection token from this file")
    group.add_argument("--api-key", help="server API key [CENTRIFUGO_API_KEY]")
    group.add_argument(
        "--adapter", choices=ADAPTERS, help=f"the adapter that does the I/O (default {ADAPTERS[0]})"
    )
    group.add_argument(
        "--protocol", choices=PROTOCOLS, help="client protocol: current (v5/v6) or v1 (1.x)"
    )
    group.add_argument("--codec", help="wire codec (default json; what the client accepts)")
    group.add_argument(
        "--timeout",
        type=_positive,
        metavar="SECONDS",
        help=f"seconds for connecting and each call ({DEFAULT_TIMEOUT:g})",
    )
    group.add_argument(
        "--format", choices=("auto", "json", "text"), help="output: auto (json when piped), ..."
    )
    group.add_argument("-q", "--quiet", action="store_true", help="no status lines on stderr")
    group.add_argument(
        "-v", "--verbose", action="count", help="log the library's INFO (-v) or DEBUG (-vv) lines"
    )
    legacy = common.add_argument_group("--protocol v1 credentials (the token is --token)")
    legacy.add_argument("--user", help="1.x user id")
    legacy.add_argument("--timestamp", help="1.x timestamp the token was signed with")
    legacy.add_argument("--info", help="1.x connection info (a string)")
    return common


def parser() -> argparse.ArgumentParser:
    common = _common()
    top = argparse.ArgumentParser(
        prog="centrifugo-proto",
        usage="%(prog)s [common options] COMMAND ARGS [options]",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    commands = top.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, summary: str, usage: str) -> argparse.ArgumentParser:
        return commands.add_parser(
            name,
            help=summary,
            description=summary,
            parents=[common],
            usage=f"centrifugo-proto {name} {usage} [common options]",
        )

    sub = command(
        "subscribe",
        "print publications of CHANNEL as they arrive",
        "CHANNEL [--count N] [--recover] [--since OFFSET:EPOCH] [--join-leave] [--delta] "
        "[--sub-token T]",
    )
    sub.add_argument("channel", metavar="CHANNEL")
    sub.add_argument("--count", type=_count, metavar="N", help="exit after N publications")
    sub.add_argument("--recover", action="store_true", help="recoverable: no loss on reconnect")
    sub.add_argument(
        "--since", type=_position, metavar="OFFSET:EPOCH", help="recover from this position first"
    )
    sub.add_argument("--join-leave", action="store_true", help="print join and leave events too")
    sub.add_argument("--delta", action="store_true", help="fossil delta compression")
    sub.add_argument("--sub-token", metavar="T", help="subscription token (private channels)")

    pub = command(
        "publish",
        "publish DATA_JSON to CHANNEL (as a client)",
        "CHANNEL DATA_JSON [--as-subscriber]",
    )
    pub.add_argument("channel", metavar="CHANNEL")
    pub.add_argument("data", metavar="DATA_JSON")

    hist = command(
        "history",
        "print the publications CHANNEL keeps",
        "CHANNEL [--limit N] [--reverse] [--as-subscriber]",
    )
    hist.add_argument("channel", metavar="CHANNEL")
    hist.add_argument("--limit", type=int, metavar="N", help="at most N (default: all)")
    hist.add_argument("--reverse", action="store_true", help="newest first")

    pres = command("presence", "print who is subscribed to CHANNEL", "CHANNEL [--as-subscriber]")
    pres.add_argument("channel", metavar="CHANNEL")

    for needs_sub in (pub, hist, pres):
        needs_sub.add_argument(
            "--as-subscriber",
            action="store_true",
            help="subscribe first (servers that allow it to subscribers only)",
        )
        needs_sub.add_argument(
            "--sub-token", metavar="T", help="subscription token for --as-subscriber"
        )

    rpc = command(
        "rpc", "call METHOD on the server (its RPC proxy) with DATA_JSON", "METHOD [DATA_JSON]"
    )
    rpc.add_argument("method", metavar="METHOD")
    rpc.add_argument("data", metavar="DATA_JSON", nargs="?", default="null")

    api = command(
        "api", "call the server HTTP API: METHOD with PARAMS_JSON", "METHOD [PARAMS_JSON]"
    )
    api.add_argument("method", metavar="METHOD", help="publish, broadcast, presence, batch, ...")
    api.add_argument("params", metavar="PARAMS_JSON", nargs="?", default="{}")

    gen = commands.add_parser(
        "gentoken",
        usage="centrifugo-proto gentoken --secret S --user U [--ttl SECONDS] [--channel C] "
        "[--info JSON] [--claims JSON]\n"
        "       centrifugo-proto gentoken --legacy --secret S (--user U [--timestamp T] | "
        "--client C --channel C) [--info I]",
        help="print a connection or subscription token",
        description="Print a token on stdout, alone: a connection JWT (HS256), a subscription "
        "JWT with --channel, or with --legacy the 1.x HMAC token (a private channel sign "
        "with --client and --channel).",
    )
    gen.add_argument("--secret", metavar="S", help="the server's HMAC secret [CENTRIFUGO_SECRET]")
    gen.add_argument("--user", dest="gen_user", metavar="U", help="user id (sub claim)")
    gen.add_argument(
        "--ttl",
        type=int,
        default=3600,
        metavar="SECONDS",
        help="seconds until it expires (3600; 0: never)",
    )
    gen.add_argument("--channel", metavar="C", help="a subscription token for this channel")
    gen.add_argument("--info", dest="gen_info", metavar="I", help="info (JWT: JSON; 1.x: string)")
    gen.add_argument("--claims", metavar="JSON", help="more JWT claims, a JSON object")
    gen.add_argument("--legacy", action="store_true", help="the 1.x token: HMAC-SHA256 hex")
    gen.add_argument(
        "--timestamp", dest="gen_timestamp", metavar="T", help="1.x: the timestamp (default: now)"
    )
    gen.add_argument("--client", metavar="C", help="1.x: sign a private channel for this client id")
    return top


@attrs.frozen
class Settings:
    """What a command that talks to a server needs, resolved."""

    url: str
    api_url: str
    token: str | Credentials | None
    #: Where a token came from that can be read again (``--token-file``), for refreshes.
    token_file: str | None
    api_key: str | None
    adapter: str
    protocol: str
    #: The codec the dialect knows by that name, made; a name it does not know is
    #: left to the client, whose error names the ones it knows.
    codec: str | Codec
    timeout: float
    output: str  # "json" or "text"
    quiet: bool
    verbose: int


def _read_token(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as file:
            return file.read().strip()
    except OSError as exc:
        raise CliError(Exit.USAGE, f"cannot read the token file: {exc}") from None


def _default_api_url(url: str, protocol: str) -> str:
    endpoint = parse_endpoint(url)
    host = f"[{endpoint.host}]" if ":" in endpoint.host else endpoint.host
    scheme = "https" if endpoint.tls else "http"
    return f"{scheme}://{host}:{endpoint.port}/api" + ("/" if protocol == "v1" else "")


def _check_url(url: str, kind: str) -> None:
    try:
        parse_endpoint(url) if kind == "--url" else parse_http_url(url)
    except LocalProtocolError as exc:
        raise CliError(Exit.BAD_URL, f"bad {kind}: {exc}") from None


def settings(args: argparse.Namespace, env: Mapping[str, str], stdout_is_tty: bool) -> Settings:
    """The options, then the environment, then the defaults; a bad URL is exit 3."""
    given = vars(args)
    protocol = given.get("protocol", "current")
    url = given.get("url") or env.get("CENTRIFUGO_URL") or DEFAULT_URL
    _check_url(url, "--url")
    api_url = given.get("api_url") or env.get("CENTRIFUGO_API_URL")
    if api_url:
        _check_url(api_url, "--api-url")
    else:
        api_url = _default_api_url(url, protocol)
    token: str | None = given.get("token")
    if token is None and "token_file" in given:
        token = _read_token(given["token_file"])
    if token is None:
        token = env.get("CENTRIFUGO_TOKEN")
    credentials = _credentials(given, token) if protocol == "v1" else token or None
    output = given.get("format", "auto")
    if output == "auto":
        output = "text" if stdout_is_tty else "json"
    return Settings(
        url=url,
        api_url=api_url,
        token=credentials,
        token_file=given.get("token_file") if given.get("token") is None else None,
        api_key=given.get("api_key") or env.get("CENTRIFUGO_API_KEY"),
        adapter=given.get("adapter", ADAPTERS[0]),
        protocol=protocol,
        codec=_codec(protocol, given.get("codec", "json")),
        timeout=given.get("timeout", DEFAULT_TIMEOUT),
        output=output,
        quiet=given.get("quiet", False),
        verbose=given.get("verbose", 0),
    )


def _codec(protocol: str, name: str) -> str | Codec:
    factory = resolve_dialect(protocol).codecs.get(name)
    if factory is None:
        return name
    try:
        return factory()
    except LocalProtocolError as exc:  # its runtime is not installed
        raise CliError(Exit.USAGE, str(exc)) from None


def _credentials(given: Mapping[str, Any], token: str | None) -> Credentials | None:
    """1.x connects with (user, timestamp, info, token), all signed together: None
    when none is given (the commands that connect say so), else all of them."""
    user, timestamp = given.get("user"), given.get("timestamp")
    if user is None and timestamp is None and token is None:
        return None
    needed = (("--user", user), ("--timestamp", timestamp), ("--token", token))
    missing = [name for name, value in needed if value is None]
    if missing:
        raise CliError(Exit.USAGE, f"--protocol v1 needs {', '.join(missing)} as well")
    try:
        return Credentials(user, timestamp, token, given.get("info") or "")
    except LocalProtocolError as exc:
        raise CliError(Exit.USAGE, str(exc)) from None
