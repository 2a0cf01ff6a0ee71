"""``python -m centrifugo_proto`` and the CLI's parts that need no server: the
entry point finds the adapters whether installed or run from a source checkout,
the exit-code table is the one the docs show, errors map to their codes, and
the options resolve (option, then environment, then default).

The CLI itself runs against real servers in ``tests/integration/test_cli.py``.
"""

from __future__ import annotations

import runpy
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import centrifugo_proto
import centrifugo_proto.__main__ as entry
from centrifugo_proto import (
    ApiError,
    ApiUnauthorized,
    ClientDisconnected,
    CommandTimeout,
    DecodeError,
    LocalProtocolError,
    ReplyError,
    TransportError,
)
from centrifugo_proto.adapters.cli._args import parser, settings
from centrifugo_proto.adapters.cli._exits import CliError, Exit, Stage, failure
from centrifugo_proto.legacy import Credentials

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def adapters_unloaded(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No ``centrifugo_proto.adapters`` loaded, as in a fresh ``python -m`` from the
    source root; every module of it as it was again afterwards."""
    saved = {k: v for k, v in sys.modules.items() if k.startswith(entry.NAME)}
    for name in saved:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.delattr(centrifugo_proto, "adapters")
    yield
    for name in [k for k in sys.modules if k.startswith(entry.NAME)]:
        del sys.modules[name]
    sys.modules.update(saved)


@pytest.mark.usefixtures("adapters_unloaded")
def test_the_sibling_adapters_folder_is_registered() -> None:
    module = entry.adapters_beside(str(ROOT / "centrifugo_proto" / "__init__.py"))
    assert module is not None
    assert sys.modules[entry.NAME] is module
    assert centrifugo_proto.adapters is module
    assert Path(module.__file__ or "") == ROOT / "adapters" / "__init__.py"
    from centrifugo_proto.adapters.cli import _exits  # a submodule, found through it

    assert Path(_exits.__file__ or "").parent == ROOT / "adapters" / "cli"


@pytest.mark.usefixtures("adapters_unloaded")
def test_no_adapters_folder_registers_nothing(tmp_path: Path) -> None:
    (tmp_path / "centrifugo_proto").mkdir()
    assert entry.adapters_beside(str(tmp_path / "centrifugo_proto" / "__init__.py")) is None
    assert entry.NAME not in sys.modules


def test_python_m_runs_the_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["centrifugo-proto", "gentoken", "--legacy"])
    monkeypatch.setenv("CENTRIFUGO_SECRET", "s")
    monkeypatch.delitem(sys.modules, entry.__name__)  # runpy runs it afresh, as python -m
    with pytest.raises(SystemExit) as ended:
        runpy.run_module("centrifugo_proto", run_name="__main__")
    assert ended.value.code == Exit.USAGE
    assert "gentoken --legacy needs --user" in capsys.readouterr().err


def test_without_installed_adapters_it_looks_beside_the_package(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    looked: list[str] = []
    monkeypatch.setattr(entry.importlib.util, "find_spec", lambda name: None)
    monkeypatch.setattr(entry, "adapters_beside", looked.append)
    monkeypatch.setattr(sys, "argv", ["centrifugo-proto", "gentoken", "--secret", "s"])
    assert entry.run() == Exit.USAGE
    assert looked == [centrifugo_proto.__file__]
    assert "gentoken needs --user" in capsys.readouterr().err


# -- exit codes --------------------------------------------------------------------------------


def test_docs_show_every_exit_code() -> None:
    text = (ROOT / "docs" / "cli.md").read_text()
    for code in Exit:
        assert f"| {code.value} | `{code.name}` | {code.meaning} |" in text


@pytest.mark.parametrize(
    ("error", "stage", "code"),
    [
        (LocalProtocolError("bad"), Stage.COMMAND, Exit.USAGE),
        (ReplyError(109, "token expired"), Stage.CONNECT, Exit.TOKEN_EXPIRED),
        (ReplyError(109, "token expired"), Stage.SUBSCRIBE, Exit.TOKEN_EXPIRED),
        (ReplyError(110, "credentials expired"), Stage.CONNECT, Exit.TOKEN_EXPIRED),
        (ReplyError(3500, "invalid token"), Stage.CONNECT, Exit.CONNECT_REFUSED),
        (ClientDisconnected(), Stage.CONNECT, Exit.CONNECT_REFUSED),
        (ReplyError(103, "permission denied"), Stage.SUBSCRIBE, Exit.SUBSCRIBE_DENIED),
        (ReplyError(103, "permission denied"), Stage.COMMAND, Exit.COMMAND_FAILED),
        (ClientDisconnected(), Stage.COMMAND, Exit.ENDED_BY_SERVER),
        (ReplyError(4500, "bye"), Stage.RUNNING, Exit.ENDED_BY_SERVER),
        (TransportError("refused"), Stage.CONNECT, Exit.CANNOT_CONNECT),
        (TransportError("reset"), Stage.API, Exit.CANNOT_CONNECT),
        (CommandTimeout("slow"), Stage.COMMAND, Exit.TIMEOUT),
        (ApiError(107, "bad request"), Stage.API, Exit.API_ERROR),
        (ApiUnauthorized(401, "Unauthorized"), Stage.API, Exit.API_HTTP_ERROR),
        (DecodeError("not JSON"), Stage.API, Exit.API_HTTP_ERROR),
        (DecodeError("not JSON"), Stage.COMMAND, Exit.UNEXPECTED),
    ],
)
def test_errors_map_to_their_exit_codes(error: Exception, stage: Stage, code: Exit) -> None:
    mapped = failure(error, stage, "doing it")
    assert (mapped.code, mapped.message.startswith(f"doing it: {error}")) == (code, True)


def test_a_timeout_is_read_by_the_error_it_names() -> None:
    timeout = CommandTimeout("connect timed out (last error: 109: token expired)")
    timeout.__cause__ = ReplyError(109, "token expired")
    assert failure(timeout, Stage.CONNECT, "connect").code == Exit.TOKEN_EXPIRED
    timeout.__cause__ = TransportError("transport failed: refused")
    assert failure(timeout, Stage.CONNECT, "connect").code == Exit.CANNOT_CONNECT


# -- options -------------------------------------------------------------------------------


def resolve(*argv: str, env: dict[str, str] | None = None, tty: bool = False):
    return settings(parser().parse_args(argv), env or {}, tty)


def test_options_then_environment_then_defaults() -> None:
    env = {
        "CENTRIFUGO_URL": "wss://example.com:8443/connection/websocket",
        "CENTRIFUGO_TOKEN": "from-env",
        "CENTRIFUGO_API_KEY": "key",
    }
    from_env = resolve("publish", "c", "1", env=env)
    assert (from_env.url, from_env.token, from_env.api_key) == (
        env["CENTRIFUGO_URL"],
        "from-env",
        "key",
    )
    assert from_env.api_url == "https://example.com:8443/api"
    assert (from_env.adapter, from_env.output, from_env.timeout) == ("asyncio", "json", 10.0)
    given = resolve("--token", "early", "publish", "c", "1", "--adapter", "trio", env=env)
    assert (given.token, given.adapter) == ("early", "trio")
    assert resolve("publish", "c", "1", tty=True).output == "text"
    v6 = resolve("publish", "c", "1", "--url", "ws://[::1]:9/x")
    assert v6.api_url == "http://[::1]:9/api"
    v1 = resolve("publish", "c", "1", "--protocol", "v1", "--url", "ws://h:1/x")
    assert (v1.api_url, v1.token) == ("http://h:1/api/", None)


def test_v1_credentials_come_together() -> None:
    v1 = ("publish", "c", "1", "--protocol", "v1")
    full = resolve(*v1, "--user", "7", "--timestamp", "17", "--token", "t", "--info", "i")
    assert full.token == Credentials("7", "17", "t", "i")
    with pytest.raises(CliError) as missing:
        resolve(*v1, "--user", "7")
    assert missing.value.code == Exit.USAGE
    assert "--timestamp, --token" in missing.value.message


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (("publish", "c", "1", "--url", "http://x"), Exit.BAD_URL),
        (("api", "info", "--api-url", "ws://x"), Exit.BAD_URL),
        (("publish", "c", "1", "--token-file", "/nonexistent/token"), Exit.USAGE),
    ],
)
def test_what_settings_refuse(argv: tuple[str, ...], code: Exit) -> None:
    with pytest.raises(CliError) as refused:
        resolve(*argv)
    assert refused.value.code == code


@pytest.mark.parametrize(
    "argv",
    [
        ("subscribe", "c", "--since", "x:y"),
        ("subscribe", "c", "--count", "0"),
        ("publish", "c", "1", "--timeout", "-1"),
        ("publish", "c", "1", "--adapter", "gevent"),
    ],
)
def test_bad_options_are_usage_errors(
    argv: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as ended:
        parser().parse_args(argv)
    assert ended.value.code == Exit.USAGE
    assert "error:" in capsys.readouterr().err
