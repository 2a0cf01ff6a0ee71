"""The JSON codec on other JSON libraries (issue 10, centrifuge-python #39): orjson
reading by default when it is installed, and any ``loads``/``dumps`` pair plugged in,
held to the same guarantees (compact one-line output, NaN, lone surrogates and
unencodable values refused at the call, ``DecodeError`` for bad input).

orjson and the standard library differ on NaN, non-str keys, big integers and lone
surrogates; each difference is pinned here. The server's lines are built by the
test (``serverside.encode_line``).
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from centrifugo_proto import ClientProtocol, LocalProtocolError
from centrifugo_proto.codecs import json as json_codec
from centrifugo_proto.codecs.json import JsonCodec, decode_replies, find_orjson
from centrifugo_proto.commands import PublishRequest
from centrifugo_proto.errors import DecodeError
from centrifugo_proto.results import Publication
from serverside import ENDPOINT, options

STDLIB = JsonCodec(loads=json.loads)
DEFAULT = JsonCodec()
ORJSON = JsonCodec(loads=orjson.loads, dumps=orjson.dumps)
#: The standard library's own defaults: spaces, ASCII escapes, NaN allowed.
PLAIN_STDLIB = JsonCodec(loads=json.loads, dumps=json.dumps)


def pub_line(data_text: str) -> str:
    return '{"push":{"channel":"c","pub":{"data":' + data_text + ',"offset":1}}}'


def data_of(codec: JsonCodec, data_text: str) -> Any:
    (pub,) = codec.decode(pub_line(data_text))
    assert isinstance(pub, Publication)
    return pub.data


# -- which library reads -----------------------------------------------------------------


def test_orjson_reads_by_default_when_it_is_installed():
    assert find_orjson() is not None
    assert json_codec._default_loads is not json.loads
    assert data_of(DEFAULT, '{"a":[1,2.5,"é",null,true]}') == {"a": [1, 2.5, "é", None, True]}


def test_without_orjson_the_standard_library_reads(monkeypatch):
    monkeypatch.setitem(sys.modules, "orjson", None)  # its import fails
    assert find_orjson() is None


@pytest.mark.parametrize(
    "text",
    [
        "NaN",  # not JSON; the stdlib reads it, orjson does not
        "-Infinity",
        "1e400",  # an infinity when read as a double
        '"\\ud800"',  # a lone surrogate escape
    ],
)
def test_what_orjson_refuses_the_default_reads_as_the_standard_library_does(text):
    """A publication orjson cannot read must not become a protocol error (and a
    reconnect, and the same publication recovered again): the stdlib reads it."""
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(text)
    expected = data_of(STDLIB, text)
    got = data_of(DEFAULT, text)
    if isinstance(expected, float) and math.isnan(expected):
        assert math.isnan(got)
    else:
        assert got == expected


def test_bad_json_is_a_decode_error_with_either_library():
    for codec in (DEFAULT, STDLIB, ORJSON):
        with pytest.raises(DecodeError, match="not JSON"):
            codec.decode('{"push":')
        # Deeper than orjson's 1024 and than the stdlib's recursion limit.
        with pytest.raises(DecodeError, match=r"nested too deeply|not JSON"):
            codec.decode(pub_line("[" * 5000 + "]" * 5000))


def test_orjson_reads_integers_past_64_bits_as_floats_the_stdlib_exactly():
    big = 2**64
    assert data_of(STDLIB, str(big)) == big
    assert data_of(DEFAULT, str(big)) == float(big)
    assert type(data_of(DEFAULT, str(big))) is float
    assert data_of(DEFAULT, str(big - 1)) == big - 1  # within 64 bits: exact


def test_a_protocol_integer_read_as_a_float_is_still_refused():
    with pytest.raises(DecodeError, match="offset"):
        DEFAULT.decode('{"push":{"channel":"c","pub":{"data":1,"offset":18446744073709551616}}}')


#: JSON values both libraries read the same way: 64-bit integers, any float.
VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=10,
)


@given(VALUES)
def test_the_default_reads_what_the_standard_library_reads(value):
    text = json.dumps(value, ensure_ascii=False)
    assert data_of(DEFAULT, text) == data_of(STDLIB, text)


def _outcome(loads: Any, text: str) -> tuple[str, Any]:
    try:
        value = loads(text)
    except Exception as exc:  # the class and the message must be the same
        return ("raised", (type(exc), str(exc)))
    return ("read", json.dumps(value, sort_keys=True, allow_nan=True))


#: Texts around JSON values: whitespace either side, trailing garbage, a BOM, cuts.
NEAR_JSON = st.one_of(
    st.builds(
        lambda value, left, right: left + json.dumps(value) + right,
        VALUES,
        st.sampled_from(["", " ", "\t", "\n ", "\ufeff", "x"]),
        st.sampled_from(["", " ", "\r\n", "x", ",", "}", "]", " 1"]),
    ),
    st.builds(lambda value, cut: json.dumps(value)[:cut], VALUES, st.integers(0, 40)),
    st.text(alphabet='{}[]",:0123456789.eE+-tfnulrsaNIy \\\t', max_size=30),
)


@given(NEAR_JSON)
def test_the_stdlib_fast_path_reads_and_refuses_as_json_loads_does(text):
    """The codec's standard-library ``loads`` runs the scanner itself and skips
    ``json.loads``'s whitespace handling on a compact line: the same value or the
    same error as ``json.loads`` on any text."""
    assert _outcome(json_codec._stdlib_loads, text) == _outcome(json.loads, text)


def test_the_stdlib_fast_path_takes_the_scanner_result_on_a_compact_line(monkeypatch):
    """A compact line never reaches ``json.loads`` (what makes it faster); any other
    does, and only then."""
    calls: list[str] = []
    real = json.loads
    monkeypatch.setattr(json_codec.json, "loads", lambda text: calls.append(text) or real(text))
    assert json_codec._stdlib_loads('{"a":[1,"b"]}') == {"a": [1, "b"]}
    assert calls == []
    assert json_codec._stdlib_loads(' {"a":1}') == {"a": 1}  # no value at 0
    assert json_codec._stdlib_loads('{"a":1} ') == {"a": 1}  # more after the value
    with pytest.raises(json.JSONDecodeError, match="Expecting value"):
        json_codec._stdlib_loads("")
    assert calls == [' {"a":1}', '{"a":1} ', ""]


# -- writing: the guarantees, whatever library ----------------------------------------------


@pytest.mark.parametrize("codec", [DEFAULT, STDLIB, ORJSON, PLAIN_STDLIB], ids=str)
@pytest.mark.parametrize(
    "value",
    [
        math.nan,
        math.inf,
        {"deep": [1, {"x": -math.inf}]},
        "\ud800",
        {"\udcff": 1},
        [1, ["a\ud800b"]],
    ],
    ids=["nan", "inf", "nested inf", "surrogate", "surrogate key", "nested surrogate"],
)
def test_nan_and_lone_surrogates_are_refused_at_the_call(codec, value):
    with pytest.raises(LocalProtocolError):
        codec.check_payload(value)


def test_orjson_alone_would_write_nan_as_null_and_the_stdlib_would_escape_surrogates():
    """Why the codec checks the value itself before a plugged dumps."""
    assert orjson.dumps(math.nan) == b"null"
    assert json.dumps("\ud800") == '"\\ud800"'


def test_output_is_compact_one_line_json():
    value = {"text": "é\nx", "list": [1, 2.5, None]}
    for codec in (DEFAULT, STDLIB, ORJSON):
        assert codec.encode(PublishRequest("c", value)) == (
            '"publish":{"channel":"c","data":{"text":"é\\nx","list":[1,2.5,null]}}'
        )


def test_a_dumps_that_writes_a_newline_is_refused():
    pretty = JsonCodec(dumps=lambda v: json.dumps(v, indent=2))
    with pytest.raises(LocalProtocolError, match="newline"):
        pretty.check_payload({"a": 1})
    pretty.check_payload(1)  # one line: fine


def test_big_integers_and_non_str_keys_are_what_each_library_makes_of_them():
    # The stdlib writes them; orjson refuses, at the call.
    assert STDLIB.encode(PublishRequest("c", {1: 2**64})) == (
        '"publish":{"channel":"c","data":{"1":18446744073709551616}}'
    )
    with pytest.raises(LocalProtocolError, match="64-bit"):
        ORJSON.check_payload(2**64)
    with pytest.raises(LocalProtocolError, match="str"):
        ORJSON.check_payload({1: 2})


def test_what_a_plugged_dumps_raises_is_refused_at_the_call():
    def broken(value: Any) -> str:
        raise RuntimeError("library bug")

    with pytest.raises(LocalProtocolError, match="library bug"):
        JsonCodec(dumps=broken).check_payload(1)
    with pytest.raises(LocalProtocolError, match="not JSON-serialisable"):
        ORJSON.check_payload({1, 2})
    circular: list[Any] = []
    circular.append(circular)
    with pytest.raises(LocalProtocolError, match="nested too deeply"):
        ORJSON.check_payload(circular)


@pytest.mark.parametrize(
    ("dumps", "reason"),
    [
        (lambda v: b"\xff", "not UTF-8"),
        (lambda v: 42, "must return str or bytes"),
        (lambda v: '"\ud800"', "lone surrogate"),
    ],
)
def test_what_a_plugged_dumps_returns_is_checked(dumps, reason):
    with pytest.raises(LocalProtocolError, match=reason):
        JsonCodec(dumps=dumps).check_payload(1)


def test_bytes_from_dumps_are_utf8_text():
    assert ORJSON.encode(PublishRequest("c", "é")) == '"publish":{"channel":"c","data":"é"}'


def test_loads_and_dumps_must_be_callable():
    with pytest.raises(LocalProtocolError, match="loads must be callable"):
        JsonCodec(loads="json")  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError, match="dumps must be callable"):
        JsonCodec(dumps=1)  # type: ignore[arg-type]


# -- reading: whatever a plugged loads raises ----------------------------------------------


@pytest.mark.parametrize(
    ("error", "reason"),
    [(KeyError("k"), "not JSON"), (RecursionError(), "nested too deeply")],
)
def test_what_a_plugged_loads_raises_is_a_decode_error(error, reason):
    def loads(text: str) -> Any:
        raise error

    codec = JsonCodec(loads=loads)
    with pytest.raises(DecodeError, match=reason):
        codec.decode("{}")
    with pytest.raises(DecodeError, match=reason):
        codec.payload_value(b"{}")


def test_a_delta_payload_is_read_by_the_plugged_loads():
    seen: list[str] = []

    def loads(text: str) -> Any:
        seen.append(text)
        return json.loads(text)

    assert JsonCodec(loads=loads).payload_value('{"a":"é"}'.encode()) == {"a": "é"}
    assert seen == ['{"a":"é"}']
    with pytest.raises(DecodeError, match="not JSON"):
        JsonCodec(loads=loads).payload_value(b"\xff")  # not UTF-8


def test_a_delta_payload_orjson_refuses_is_read_by_the_standard_library():
    """The default codec pairs orjson with the standard library for what orjson
    refuses, in a rebuilt delta payload as in a line; a plugged orjson alone refuses."""
    assert math.isnan(DEFAULT.payload_value(b"NaN"))
    assert DEFAULT.payload_value(b'"\\ud800"') == "\ud800"
    with pytest.raises(DecodeError, match="not JSON"):
        ORJSON.payload_value(b"NaN")
    with pytest.raises(DecodeError, match=r"nested too deeply|not JSON"):
        DEFAULT.payload_value(b"[" * 5000 + b"]" * 5000)
    with pytest.raises(DecodeError, match="not JSON"):
        DEFAULT.payload_value(b"{")  # refused by both


@pytest.mark.parametrize("codec", [DEFAULT, STDLIB, ORJSON], ids=["default", "stdlib", "orjson"])
def test_blank_lines_are_skipped_whatever_library_reads(codec):
    """Empty and whitespace-only lines are no Reply (PROTOCOL.md §1.1); the
    whitespace check runs only once a reader refused the line."""
    message = "\n \t\n" + pub_line("1") + "\n\n\r\n  \n" + pub_line("2") + "\n"
    assert [p.data for p in codec.decode(message)] == [1, 2]
    with pytest.raises(DecodeError, match="not JSON"):
        codec.decode(" x ")


def test_decode_replies_reads_with_the_default_unless_told():
    assert decode_replies(pub_line("1")) == decode_replies(pub_line("1"), json.loads)


# -- through the facade ----------------------------------------------------------------


def test_a_plugged_codec_refuses_at_the_call_and_queues_nothing():
    client = ClientProtocol(ENDPOINT, codec=ORJSON, options=options())
    with pytest.raises(LocalProtocolError):
        client.publish("c", math.nan, now=0.0)
    with pytest.raises(LocalProtocolError):
        ClientProtocol(ENDPOINT, codec=ORJSON, data={"x": math.inf})
    client.connect(now=0.0)
    assert client.data_to_send() == b""
