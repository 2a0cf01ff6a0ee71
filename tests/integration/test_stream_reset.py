"""A stream reset against the real server (issue "Hardening", Evidence), every adapter.

The real Centrifugo v6.9.1 was asked how a channel's stream gets reset while a
client stays subscribed. ``history_remove`` through the HTTP API does not reset it
(offset and epoch go on, memory and Redis engines alike). Losing the history does:
with the Redis engine, ``FLUSHALL`` drops the stream; the next publication starts a
new one (a new epoch, offset 1), the server notices the subscriber's position is
gone and sends ``unsubscribe`` 2500, and the client's resubscribe with recovery
gets the new epoch with ``recovered: false``. Publications made after the flush and
before that resubscribe sit in the new stream's history. Before the stream-reset
rule they were never delivered; now the client reports the reset
(``PublicationsLost``, reason "stream reset") and recovers the new stream from its
start, so every publication made after the reset reaches the reader, in order.
"""

from __future__ import annotations

from drivers import TIMEOUT, Events, Runner, call_api, token_for, unique

from centrifugo_proto import PublicationsLost
from harness import CentrifugoServer
from harness.redis import RedisServer


def test_every_publication_after_a_stream_reset_reaches_the_reader(
    adapter: Runner, redis_server: RedisServer, redis_centrifugo: CentrifugoServer
) -> None:
    server = redis_centrifugo
    channel = unique("chat:reset-")
    with adapter.connected(server.ws_url, token=token_for(server, unique("u-"))) as client:
        sub = client.subscribe(channel, recoverable=True)
        lost = Events(sub, "publications_lost")
        for n in range(3):
            call_api(server, "publish", {"channel": channel, "data": {"n": n}})
        before = sub.take(3)
        assert [adapter.value(p.data)["n"] for p in before] == [0, 1, 2]
        old_epoch = client.history(channel, limit=0).epoch

        assert redis_server.command("FLUSHALL") == "OK"
        published = []
        for n in range(3, 9):
            reply = call_api(server, "publish", {"channel": channel, "data": {"n": n}})
            published.append((reply["result"]["offset"], n))
        new_epoch = client.history(channel, limit=0).epoch
        assert new_epoch != old_epoch  # the stream really was reset
        assert [offset for offset, _ in published] == list(range(1, 7))

        after = sub.take(len(published), timeout=TIMEOUT * 3)
        assert [(p.offset, adapter.value(p.data)["n"]) for p in after] == published
        report = lost.next(PublicationsLost)
        assert report.reason == "stream reset"
        assert report.since is not None
        assert (report.since.offset, report.since.epoch) == (3, old_epoch)
