"""The 1.x auth endpoint, as the adapters use it (LEGACY-V1.md §6): the ``$``
channels whose signs the core asked for in one step go to the endpoint in one
request, and each answer goes back to its own request.

Pure: the adapter POSTs :attr:`SignBatch.body` to :attr:`SignBatch.url` with its
own HTTP client and hands back the status and body, or the exception; the
answer is read by the core (:func:`centrifugo_proto.legacy.read_sign_answer`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from centrifugo_proto.events import TokenRequested
from centrifugo_proto.legacy import (
    ChannelSign,
    SignRefused,
    client_channel,
    read_sign_answer,
    sign_request,
)

__all__ = ["SignAnswers", "SignBatch"]

#: Each request of a batch with its sign, or why there is none.
SignAnswers = list[tuple[TokenRequested, ChannelSign | SignRefused]]


class SignBatch:
    """The sign requests of one step, for the connection ``client_id``.

    A ``&`` channel is asked for under its name on this connection (``$x&`` as
    ``$x&<client id>``), the name its subscribe carries: the Perl module signed
    the unexpanded name, which never matched (LEGACY-V1.md §8 bug 5).
    """

    def __init__(self, url: str, client_id: str, requests: Sequence[TokenRequested]) -> None:
        self.url = url
        self.client_id = client_id
        self.requests = list(requests)
        self.channels = [client_channel(r.channel or "", client_id) for r in self.requests]

    @property
    def body(self) -> dict[str, Any]:
        """``{"client": ..., "channels": [...]}``, POSTed as JSON."""
        return sign_request(self.client_id, self.channels)

    def answers(self, status: int, body: bytes) -> SignAnswers:
        """What the endpoint answered, channel by channel."""
        read = read_sign_answer(status, body, self.channels)
        return [(r, read[channel]) for r, channel in zip(self.requests, self.channels, strict=True)]

    def unreachable(self, error: BaseException) -> SignAnswers:
        """The request could not be made (refused, reset, timed out): every channel fails."""
        detail = str(error) or type(error).__name__
        refused = SignRefused(f"the auth endpoint {self.url} could not be reached: {detail}")
        return [(request, refused) for request in self.requests]

    def __repr__(self) -> str:
        return f"SignBatch({self.url!r}, {self.client_id!r}, {self.channels!r})"
