"""The blocking adapter's wake-up (adapters/_sync.py ``ThreadWakeup``):
``threading.Event``'s contract on a bare lock, set once, any thread."""

from __future__ import annotations

import threading

from centrifugo_proto.adapters._sync import ThreadWakeup


def test_unset_it_times_out_and_set_it_lets_every_waiter_through_for_good() -> None:
    wakeup = ThreadWakeup()
    assert not wakeup.is_set()
    assert wakeup.wait(0) is False
    assert wakeup.wait(-5) is False  # a negative budget is no time, not an error
    assert wakeup.wait(0.01) is False
    wakeup.set()
    wakeup.set()  # a second set changes nothing
    assert wakeup.is_set()
    assert wakeup.wait() is True
    assert wakeup.wait(0) is True
    assert wakeup.wait(1e30) is True  # beyond threading.TIMEOUT_MAX: no OverflowError


def test_a_set_from_another_thread_wakes_every_waiting_thread() -> None:
    wakeup = ThreadWakeup()
    results: list[bool] = []
    started = threading.Barrier(4)

    def waiter() -> None:
        started.wait()
        results.append(wakeup.wait(30))

    threads = [threading.Thread(target=waiter) for _ in range(3)]
    for thread in threads:
        thread.start()
    started.wait()  # all three are about to wait (or waiting): set must free each
    wakeup.set()
    for thread in threads:
        thread.join(30)
    assert results == [True, True, True]


def _set_together(
    wakeup: ThreadWakeup, gate: threading.Barrier, errors: list[BaseException]
) -> None:
    gate.wait()
    try:
        wakeup.set()
        wakeup.wait(0)
    except BaseException as error:  # a lock released twice would raise here
        errors.append(error)


def test_sets_and_waits_racing_from_many_threads_never_raise() -> None:
    for _ in range(50):
        wakeup = ThreadWakeup()
        errors: list[BaseException] = []
        gate = threading.Barrier(4)
        threads = [
            threading.Thread(target=_set_together, args=(wakeup, gate, errors)) for _ in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert errors == []
        assert wakeup.wait(0) is True
