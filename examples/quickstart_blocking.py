"""Quickstart, blocking: two clients talk through a Centrifugo channel.

The same program as examples/quickstart.py (asyncio), with no event loop: each
client runs its I/O on a thread of its own, and every call blocks until it is
answered. Point it at your server through the environment:

    CENTRIFUGO_WS_URL       ws://127.0.0.1:8000/connection/websocket
    CENTRIFUGO_HMAC_SECRET  the server's client.token.hmac_secret_key

The channel ``chat:demo`` needs a namespace ``chat`` with history, presence
and join/leave (see tests/harness/centrifugo.template.json).
"""

from __future__ import annotations

import itertools
import os
import sys
import time

from centrifugo_proto import JoinReceived, connection_token
from centrifugo_proto.adapters.blocking import Client

CHANNEL = "chat:demo"


def say(line: str) -> None:
    # One write per line: the join callback prints from the client's dispatcher
    # thread while the main thread prints too, and print() writes the line and its
    # newline apart, so two threads' lines could interleave.
    sys.stdout.write(line + "\n")


def token(user: str) -> str:
    """A connection JWT minted with the project's own helper (HS256)."""
    secret = os.environ.get("CENTRIFUGO_HMAC_SECRET", "test-hmac-secret")
    return connection_token(secret, user, exp=int(time.time()) + 3600, info={"name": user})


def main() -> None:
    url = os.environ.get("CENTRIFUGO_WS_URL", "ws://127.0.0.1:8000/connection/websocket")
    say(f"server: {url}")
    with Client(url, token=token("alice")) as alice, Client(url, token=token("bob")) as bob:
        say(f"alice connected as client {alice.client_id}")
        say(f"bob   connected as client {bob.client_id}")

        alice_sub = alice.new_subscription(CHANNEL, join_leave=True)
        # Callbacks run on the client's dispatcher thread, never on its I/O thread.
        alice_sub.on("join", lambda e: print_join("alice", e))
        alice_sub.subscribe()
        bob_sub = bob.subscribe(CHANNEL)
        say(f"both subscribed to {CHANNEL}")

        alice.publish(CHANNEL, {"text": "hi bob"})
        bob.publish(CHANNEL, {"text": "hello alice"})

        for name, sub in (("alice", alice_sub), ("bob", bob_sub)):
            # A subscription buffers publications from the moment it is made.
            for pub in itertools.islice(sub, 2):
                sender = pub.info.user if pub.info else "server"
                say(f"{name} received #{pub.offset} from {sender}: {pub.data['text']}")

        history = alice.history(CHANNEL, limit=-1)
        say(f"history of {CHANNEL} (epoch {history.epoch}, top offset {history.offset}):")
        for pub in history.publications[-2:]:
            say(f"  #{pub.offset}: {pub.data}")

        presence = bob.presence(CHANNEL)
        say(f"presence in {CHANNEL}:")
        for client_id, info in sorted(presence.clients.items(), key=lambda kv: kv[1].user):
            say(f"  {info.user:<6} client {client_id} info {info.conn_info}")
        stats = bob.presence_stats(CHANNEL)
        say(f"presence stats: {stats.num_clients} clients, {stats.num_users} users")
    say("done")


def print_join(who: str, event: JoinReceived) -> None:
    say(f"{who} sees {event.info.user} join {event.channel}")


if __name__ == "__main__":
    main()
