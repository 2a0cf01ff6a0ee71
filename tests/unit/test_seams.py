"""The codec and dialect seams (issue "One core for three dialects").

The facade and the session know codecs and dialects only through their contracts
(``centrifugo_proto.codecs.Codec``, ``centrifugo_proto.dialect.Dialect``): no module
but the one that picks them names a concrete codec, and a codec or dialect the
caller writes plugs in. The second codec the unit suite runs with lives in
``tests/binary_codec.py`` (``CENTRIFUGO_TEST_CODEC=binary-json``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from binary_codec import BinaryJsonCodec

from centrifugo_proto import (
    CentrifugoError,
    ClientProtocol,
    ClientState,
    ErrorOccurred,
    LocalProtocolError,
    RemoteProtocolError,
    TransportError,
)
from centrifugo_proto.commands import PresenceStatsRequest
from centrifugo_proto.dialect import CURRENT, CurrentDialect
from centrifugo_proto.states import Phase
from serverside import ENDPOINT, FakeServer, connected_pair, make_client, options

CORE = Path(__file__).resolve().parents[2] / "centrifugo_proto"
#: Everything between the adapter and the codec: it must not know which codec it has
#: (the dialects name theirs: dialect.py, legacy.py).
GENERIC = [
    "client.py",
    "session.py",
    "subscription.py",
    "stream.py",
    "pipeline.py",
    "server_subs.py",
    "registry.py",
    "outbox.py",
    "connection.py",
    "token_flow.py",
    "liveness.py",
    "websocket.py",
    "states.py",
    "codes.py",
]
#: Names of concrete codecs (modules and classes) that only codecs/__init__.py may use.
CONCRETE = {
    "centrifugo_proto.codecs.json",
    ".codecs.json",
    "codecs.json",
    "JsonCodec",
    "json",
    "centrifugo_proto.codecs.protobuf",
    ".codecs.protobuf",
    "codecs.protobuf",
    "ProtobufCodec",
    "protobuf_codec",
    "protobuf",
}


def _references(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
    return names


@pytest.mark.parametrize("module", GENERIC)
def test_the_generic_core_names_no_concrete_codec(module):
    references = _references(CORE / module)
    assert "session" in _references(CORE / "client.py")  # the walk reads real code
    assert references & CONCRETE == set(), module


def test_the_generic_core_has_no_codec_kind_check():
    """The facade never asks "is this text?": the frame kind is chosen once."""
    # websocket.py implements frame kinds (a table of the wsproto message per kind).
    for module in set(GENERIC) - {"websocket.py"}:
        source = (CORE / module).read_text(encoding="utf-8")
        assert ".TEXT" not in source, module
        assert ".BINARY" not in source, module
        assert "send_text" not in source, module
        assert "send_bytes" not in source, module


def test_a_codec_the_caller_wrote_plugs_in():
    client = ClientProtocol(ENDPOINT, codec=BinaryJsonCodec(), options=options())
    client.connect(now=0.0)
    (opened,) = [e for e in iter(client.next_event, None) if type(e).__name__ == "OpenTransport"]
    assert opened.endpoint.subprotocols == ("x-test-json-binary",)


@pytest.mark.parametrize("codec", ["msgpack", "yaml", "Protobuf"])
def test_an_unknown_codec_name_is_refused(codec):
    with pytest.raises(LocalProtocolError, match="unknown codec"):
        ClientProtocol(ENDPOINT, codec=codec)


def test_something_that_is_not_a_codec_is_refused():
    with pytest.raises(LocalProtocolError, match="must be a name or a Codec"):
        ClientProtocol(ENDPOINT, codec=42)  # type: ignore[arg-type]


def test_an_unknown_protocol_is_refused():
    with pytest.raises(LocalProtocolError, match="unknown protocol"):
        ClientProtocol(ENDPOINT, protocol="v0")


class _NoStats(CurrentDialect):
    """A dialect in which presence_stats does not exist (as in 1.x)."""

    caller_commands = CURRENT.caller_commands - {PresenceStatsRequest}  # type: ignore[misc]


def test_a_command_the_dialect_lacks_is_refused_at_the_call():
    client, server = connected_pair(options=options(), protocol=_NoStats())
    server.events()
    with pytest.raises(
        LocalProtocolError, match="PresenceStatsRequest is not in the current protocol"
    ):
        client.presence_stats("room", now=1.0)
    assert server.commands() == []
    client.presence("room", now=1.0)  # what it has goes through
    assert [next(iter(set(c) - {"id"})) for c in server.commands()] == ["presence"]


def test_a_server_that_ignores_the_codecs_subprotocol_is_bad_protocol():
    """The binary test codec asks for its subprotocol; a server that accepts none
    would speak something else (JSON): the facade checks what was accepted."""
    from wsproto import WSConnection
    from wsproto.connection import ConnectionType
    from wsproto.events import AcceptConnection

    client = ClientProtocol(ENDPOINT, codec=BinaryJsonCodec(), options=options())
    client.connect(now=0.0)
    list(iter(client.next_event, None))
    client.transport_opened(now=0.0)
    server = WSConnection(ConnectionType.SERVER)
    server.receive_data(client.data_to_send())
    list(server.events())
    client.receive_data(server.send(AcceptConnection()), now=0.0)  # no subprotocol
    (error,) = [e for e in iter(client.next_event, None) if isinstance(e, ErrorOccurred)]
    assert isinstance(error.error, RemoteProtocolError)
    assert "subprotocol None, not 'x-test-json-binary'" in str(error.error)
    assert client.state is ClientState.CONNECTING


def test_bytes_only_go_into_receive_data():
    client, _server = connected_pair(options=options())
    with pytest.raises(LocalProtocolError, match="data must be bytes"):
        client.receive_data("{}", now=1.0)  # type: ignore[arg-type]
    assert client.state is ClientState.CONNECTED


def test_the_phase_follows_the_attempt():
    client = make_client(options=options())
    server = FakeServer(client)
    assert client.phase is Phase.IDLE
    client.connect(now=0.0)
    assert client.phase is Phase.OPENING
    server.open(now=0.0)
    assert client.phase is Phase.CONNECT_SENT
    server.commands()
    server.feed({"id": 1, "connect": {"client": "c"}}, now=0.0)
    assert client.phase is Phase.CONNECTED
    client.disconnect(now=1.0)
    assert client.phase is Phase.IDLE


def test_errors_compare_by_type_and_arguments():
    assert TransportError("x") == TransportError("x")
    assert TransportError("x") != RemoteProtocolError("x")
    assert TransportError("x") != "x"
    assert hash(TransportError("x")) == hash(TransportError("x"))
    assert isinstance(TransportError("x"), CentrifugoError)
