"""Connect credentials for the 1.x dialect: made on demand, and a recording source.

A 1.x connect (and refresh) carries `user`, `timestamp`, `info` and `token` =
HMAC(user ‖ timestamp ‖ info), every one a string (LEGACY-V1.md §2.1, §5). With
`connection_lifetime` set, a timestamp older than the lifetime gives `expired: true`,
so refresh and reconnect need fresh ones (LEGACY-V1.md §7): `CredentialsSource` is a
`get_credentials` callable for tests that hands out fresh (or deliberately stale)
credentials, counts its calls and can be told to fail.

```
source = CredentialsSource(server.secret, "42")
get_credentials = lambda: Credentials(**source().params())
client = Client(server.ws_url, protocol="v1", get_credentials=get_credentials)
...
assert source.calls >= 1
```
Standard library only, apart from the project's own `generate_token`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from centrifugo_proto import generate_token

__all__ = ["ConnectCredentials", "CredentialsSource", "make_credentials"]


@dataclass(frozen=True)
class ConnectCredentials:
    """The four connect parameters, in the order of DESIGN's `Credentials`."""

    user: str
    timestamp: str
    token: str
    info: str = ""

    def params(self) -> dict[str, str]:
        """The `params` of a 1.x `connect` or `refresh` command, every value a string."""
        return {
            "user": self.user,
            "timestamp": self.timestamp,
            "info": self.info,
            "token": self.token,
        }


def make_credentials(
    secret: str,
    user: str,
    *,
    timestamp: int | None = None,
    info: str = "",
    age: int = 0,
    clock: Callable[[], float] = time.time,
) -> ConnectCredentials:
    """Credentials signed with `secret`; the timestamp is `timestamp`, else now minus `age`."""
    stamp = str(timestamp if timestamp is not None else int(clock()) - age)
    return ConnectCredentials(user, stamp, generate_token(secret, user, stamp, info), info)


class CredentialsSource:
    """A thread-safe `get_credentials` stand-in: fresh credentials on each call.

    Settable at any time: `age` (seconds to back-date the timestamp, e.g. more than
    the lifetime for a stale answer), `info`, `user`, and `error` (an exception raised
    by the next calls instead, as a refresh endpoint that refuses would).
    """

    def __init__(
        self,
        secret: str,
        user: str,
        *,
        info: str = "",
        age: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.secret = secret
        self.user = user
        self.info = info
        self.age = age
        self.error: BaseException | None = None
        self._clock = clock
        self._lock = threading.Lock()
        self._issued: list[ConnectCredentials] = []
        self._calls = 0

    def __call__(self) -> ConnectCredentials:
        with self._lock:
            self._calls += 1
            if self.error is not None:
                raise self.error
            credentials = make_credentials(
                self.secret, self.user, info=self.info, age=self.age, clock=self._clock
            )
            self._issued.append(credentials)
            return credentials

    @property
    def calls(self) -> int:
        """Calls so far, failed ones included."""
        with self._lock:
            return self._calls

    @property
    def issued(self) -> list[ConnectCredentials]:
        """A copy of the credentials handed out so far, oldest first."""
        with self._lock:
            return list(self._issued)
