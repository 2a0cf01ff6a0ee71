"""What an idle connection keeps (issue 12, the memory target): containers that a
client in a fan-out rarely or never fills are made when first needed."""

from __future__ import annotations

import asyncio
import sys
import weakref

from serverside import FakeServer, connect_reply, make_client


def test_the_queue_of_commands_waiting_for_the_connection_is_made_with_the_first():
    client = make_client()
    server = FakeServer(client)
    registry = client._session._outbox.registry
    client.connect(now=0.0)
    assert registry.queued is None  # a deque's 64-slot block, not made for nothing
    client.publish("chat:a", {"n": 1}, now=0.1)
    assert registry.queued is not None
    assert len(registry.queued) == 1
    server.open(now=0.2)
    server.feed(connect_reply(client="c-1"), now=0.3)
    assert not registry.queued  # sent once connected
    sent = [command for message in server.messages() for command in message]
    assert sent[-1]["publish"] == {"channel": "chat:a", "data": {"n": 1}}


def test_events_come_out_oldest_first_and_an_empty_queue_keeps_no_storage():
    client = make_client()
    events = client._events  # where the session and the pipeline append
    events += ["a", "b", "c"]
    assert client.next_event() == "a"
    events.append("d")  # while older ones are still to be taken
    assert [client.next_event() for _ in range(3)] == ["b", "c", "d"]
    events.append("e")  # one alone
    assert client.next_event() == "e"
    assert client.next_event() is None
    # Drained, both lists are back to no slots at all (a deque kept a 64-slot block).
    assert sys.getsizeof(client._events) == sys.getsizeof(client._taken) == sys.getsizeof([])


def test_the_session_keeps_its_state_in_slots():
    """Past 30 attributes an instance's __dict__ shares no keys: 1.5 KiB per client."""
    session = make_client()._session
    assert not hasattr(session, "__dict__")
    session.heard = 1.0  # every attribute has its slot
    assert session.heard == 1.0


def test_the_asyncio_client_is_slotted_down_its_whole_class_chain():
    """One class without __slots__ anywhere in the chain would bring the __dict__
    back (1.8 KiB of an idle client's heap); the TLS context's slot is there too."""
    from centrifugo_proto.adapters import asyncio as asyncio_adapter
    from centrifugo_proto.adapters import blocking

    client = asyncio_adapter.Client("ws://centrifugo.test/connection/websocket")
    assert not hasattr(client, "__dict__")
    assert client._tls is None  # made on first use
    # The blocking client has its own attributes in a __dict__ still, and can be
    # weakly referenced (its threads end by a finalizer).
    other = blocking.Client("ws://centrifugo.test/connection/websocket")
    assert weakref.ref(other)() is other
    assert "_threads" in vars(other)
    other.close()


def test_the_asyncio_callback_task_starts_with_the_first_callback_and_close_waits_for_it():
    from centrifugo_proto.adapters import asyncio as asyncio_adapter

    async def main():
        client = asyncio_adapter.Client("ws://centrifugo.test/connection/websocket")
        client._bound()
        assert not client._tasks  # no callbacks, no task to run them
        assert client._dispatched is None
        seen = []
        client._schedule(seen.append, "first")
        client._schedule(seen.append, "second")
        assert len(client._tasks) == 1  # one task for both
        await client.close()  # before that task first ran: close() still waits for it
        assert seen == ["first", "second"]
        assert not client._tasks

    asyncio.run(main())


def test_the_trio_callback_task_starts_with_the_first_callback_inside_async_with():
    import trio
    import trio.testing

    from centrifugo_proto.adapters import trio as trio_adapter

    async def main():
        client = trio_adapter.Client("ws://centrifugo.test/connection/websocket")
        seen = []
        client._schedule(seen.append, "before")  # outside `async with`: it waits
        assert client._dispatched is None
        async with client._running():
            await trio.testing.wait_all_tasks_blocked()
            assert client._dispatched is not None
            assert seen == ["before"]
            client._schedule(seen.append, "inside")
        assert seen == ["before", "inside"]
        other = trio_adapter.Client("ws://centrifugo.test/connection/websocket")
        async with other._running():
            await trio.testing.wait_all_tasks_blocked()
            assert not other._scopes  # the timer's task is the nursery's own
            # A task given a scope runs in it (the connection's: no second one).
            scope, started = trio.CancelScope(), trio.Event()

            async def body():
                started.set()
                await trio.sleep_forever()

            other._spawn(body, scope=scope)
            await started.wait()
            assert list(other._scopes.values()) == [scope]
            scope.cancel()
            await trio.testing.wait_all_tasks_blocked()
            assert not other._scopes
            other._schedule(seen.append, "other")
            assert other._dispatched is not None
        assert seen[-1] == "other"

    trio.run(main)
