"""The adapters' backoff jitter: one source for every client, reseeded in a forked
child (adapters/_jitter.py)."""

from __future__ import annotations

import os
import random
import sys

import pytest

from centrifugo_proto.adapters import asyncio as asyncio_adapter
from centrifugo_proto.adapters import blocking as blocking_adapter
from centrifugo_proto.adapters import trio as trio_adapter
from centrifugo_proto.adapters._jitter import SharedJitter


@pytest.mark.parametrize("module", [asyncio_adapter, trio_adapter, blocking_adapter])
def test_every_adapters_clients_draw_from_the_one_shared_source(module):
    assert module.Client._rng_factory is SharedJitter
    first, second = module.Client._rng_factory(), module.Client._rng_factory()
    random.seed(7)
    draws = [first.random(), second.random()]
    reference = random.Random(7)
    assert draws == [reference.random(), reference.random()]  # one stream, not two


def test_an_instance_holds_no_state_of_its_own():
    assert not hasattr(SharedJitter(), "__dict__")
    assert sys.getsizeof(SharedJitter()) < 64  # a Mersenne Twister is about 2.5 KiB


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork: POSIX only")
def test_a_forked_child_does_not_draw_what_its_parent_draws():
    random.seed(11)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its first draw, to the parent
        os.close(read)
        os.write(write, repr(SharedJitter().random()).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        childs = float(pipe.read())
    os.waitpid(pid, 0)
    assert childs != SharedJitter().random()
