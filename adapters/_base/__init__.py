"""What every adapter does besides I/O (DESIGN "Adapters", "Layout"): adapter
policy, not protocol, so it lives here and not in the core, and it is still pure
(no socket, ssl, clock, thread, loop or randomness: the purity test checks it)
and covered 100 % by the unit tests like the core.

- :mod:`.client`: the client base: construction, driving the core, failures, the
  typed start of every wait; :mod:`.routing`: where each core event goes.
- :mod:`.subscription`: the subscription base; :mod:`.buffer`: its bounded buffer.
- :mod:`.names`: the event names of ``on()``, the seed's included.
- :mod:`.waiters`: what a caller waits on; :mod:`.dialing`: every address in turn;
  :mod:`.tokens`: which token source answers.
"""

from .buffer import DEFAULT_BUFFER_LIMIT, READ_SIZE, PublicationBuffer
from .client import ClientBase
from .dialing import Dialing
from .names import Callback, Callbacks, CommandReplied, TransportFailed
from .subscription import SubscribeOptions, SubscriptionBase, TokenSource
from .waiters import Pending, Wakeup

__all__ = [
    "DEFAULT_BUFFER_LIMIT",
    "READ_SIZE",
    "Callback",
    "Callbacks",
    "ClientBase",
    "CommandReplied",
    "Dialing",
    "Pending",
    "PublicationBuffer",
    "SubscribeOptions",
    "SubscriptionBase",
    "TokenSource",
    "TransportFailed",
    "Wakeup",
]
