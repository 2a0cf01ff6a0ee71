"""The Perl ``Centrifugo::Client``'s bugs 8 and 9 (LEGACY-V1.md §8): its documentation
and API, not the wire, so they are shown here, on the core and the adapters' API.
The other eight are shown against the real 1.8.0 in
``tests/integration/test_legacy_perl_bugs.py``.
"""

from __future__ import annotations

import inspect
import json

import pytest
from legacy_serverside import LegacyServer, make_legacy_client, reply

from centrifugo_proto import (
    CommandSucceeded,
    Credentials,
    HistoryResult,
    PresenceResult,
    generate_token,
)
from centrifugo_proto.adapters import asyncio as asyncio_adapter
from centrifugo_proto.adapters import blocking as blocking_adapter
from centrifugo_proto.adapters import trio as trio_adapter
from centrifugo_proto.api.legacy import LegacyPublish
from centrifugo_proto.api.legacy_exchange import legacy_http_request
from centrifugo_proto.http_url import parse_http_url
from serverside import only

ADAPTERS = [asyncio_adapter, trio_adapter, blocking_adapter]


def test_bug8_the_secret_comes_first_for_every_sign_and_publish_is_publish():
    """Bug 8: the POD signed the API with ``generate_token($self, $data)`` (the
    client object where the secret goes) and called a ``public(...)`` method."""
    # LEGACY-V1.md §5's worked examples: connect token, channel sign, API sign.
    assert generate_token("secret", "42", "1500000000", "") == (
        "0edb687d567dff2c3cae7b18513e77d3f305f9fcd0864edaf16324ae0ca0c73d"
    )
    assert generate_token("secret", "client-1", "$private", "") == (
        "5db459cb96909840380b113cc14490a20e3426b63c9f04d82c4097ec58a4ff9d"
    )
    body = '{"method":"publish","params":{"channel":"news","data":{"text":"hi"}}}'
    assert generate_token("secret", body) == (
        "b2bb5ed54c09decc4db2c7eac143eb493c6310ec8f621c7ce1a8ce66a3540ac2"
    )
    # The 1.x API client signs its own body with the secret it was given.
    request = legacy_http_request(
        parse_http_url("http://127.0.0.1:8000/api/"), "secret", LegacyPublish("news", {"t": 1})
    )
    headers = dict(request.headers)
    assert headers["X-API-Sign"] == generate_token("secret", request.body.decode())
    for module in ADAPTERS:
        assert callable(module.Client.publish)
        assert not hasattr(module.Client, "public")


@pytest.mark.parametrize("module", ADAPTERS, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_bug9_history_asks_for_history_not_presence(module):
    """Bug 9: the POD described ``history`` with the words of ``presence``."""
    history_doc = inspect.getdoc(module.Client.history) or ""
    assert "history" in history_doc
    assert "presence" not in history_doc
    assert inspect.signature(module.Client.history).return_annotation in ("HistoryResult",)
    assert inspect.signature(module.Client.presence).return_annotation in ("PresenceResult",)
    # And on the wire: ``history`` is a history command with a history result.
    token = generate_token("secret", "42", "1500000000", "")
    client = make_legacy_client(token=Credentials("42", "1500000000", token))
    server = LegacyServer(client)
    client.connect(now=0.0)
    server.connect(now=0.0)
    client.history("news", now=1.0)
    client.presence("news", now=1.0)
    history, presence = server.commands()
    assert (history["method"], presence["method"]) == ("history", "presence")
    body = {"channel": "news", "data": [{"uid": "U2", "channel": "news", "data": 2}]}
    found = {"channel": "news", "data": {"c1": {"user": "42", "client": "c1"}}}
    events = server.send(reply(history, body), reply(presence, found), now=1.0)
    results = [e.result for e in only(events, CommandSucceeded)]
    assert [type(r) for r in results] == [HistoryResult, PresenceResult]
    assert json.dumps([p.data for p in results[0].publications]) == "[2]"
