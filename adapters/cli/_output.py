"""What the commands print: data on stdout (one JSON object per line, or a
readable form), status lines on stderr.

Lines are written whole and flushed one by one, under a lock: the blocking
adapter prints join and leave events from its dispatcher thread while the main
thread prints publications.
"""

from __future__ import annotations

import base64
import json
import sys
import threading
from collections.abc import Mapping
from typing import Any, TextIO

from centrifugo_proto.results import ClientInfo, Publication

__all__ = ["Output", "client_record", "publication_record"]


def _payload(data: Any) -> tuple[str, Any]:
    """``("data", value)``, or ``("data_b64", text)`` for bytes that are not JSON.

    A binary codec (Protobuf) delivers payloads as bytes. Bytes that are JSON text
    are shown as the value they hold, as the JSON codec would have delivered the
    same publication (the server passes the same bytes to both); others as base64."""
    if not isinstance(data, bytes | bytearray | memoryview):
        return "data", data
    raw = bytes(data)
    try:
        return "data", json.loads(raw)
    except ValueError:  # not UTF-8, or not JSON
        return "data_b64", base64.b64encode(raw).decode("ascii")


def _put_data(record: dict[str, Any], data: Any) -> None:
    key, value = _payload(data)
    record[key] = value


def client_record(info: ClientInfo) -> dict[str, Any]:
    record: dict[str, Any] = {"user": info.user, "client": info.client}
    if info.conn_info is not None:
        record["conn_info"] = info.conn_info
    if info.chan_info is not None:
        record["chan_info"] = info.chan_info
    return record


def publication_record(pub: Publication, epoch: str = "") -> dict[str, Any]:
    """``channel``, ``data``, ``offset``, the stream's ``epoch`` (the server says it
    once, the subscription or history knows it), then what the publication carries."""
    record: dict[str, Any] = {"channel": pub.channel}
    _put_data(record, pub.data)
    record["offset"] = pub.offset
    if pub.epoch or epoch:
        record["epoch"] = pub.epoch or epoch
    if pub.info is not None:
        record["info"] = client_record(pub.info)
    if pub.tags:
        record["tags"] = dict(pub.tags)
    if pub.time:
        record["time"] = pub.time
    if pub.uid:
        record["uid"] = pub.uid
    return record


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_bytes)


def _bytes(value: object) -> Any:
    """``json.dumps``'s ``default``: bytes as :func:`_payload` shows them."""
    if isinstance(value, bytes | bytearray | memoryview):
        return _payload(value)[1]
    raise TypeError(f"{type(value).__name__} is not JSON")


class Output:
    """``json``: one compact JSON value per line; ``text``: for a person."""

    def __init__(
        self, mode: str, quiet: bool, stdout: TextIO | None = None, stderr: TextIO | None = None
    ) -> None:
        self.json = mode == "json"
        self.quiet = quiet
        self._out = stdout or sys.stdout
        self._err = stderr or sys.stderr
        self._lock = threading.Lock()

    def _line(self, stream: TextIO, text: str) -> None:
        with self._lock:
            stream.write(text + "\n")
            stream.flush()

    def status(self, text: str) -> None:
        """A status line on stderr (not with --quiet)."""
        if not self.quiet:
            self._line(self._err, text)

    def error(self, text: str) -> None:
        self._line(self._err, f"centrifugo-proto: {text}")

    def raw(self, text: str) -> None:
        """``text`` alone on stdout (gentoken's token)."""
        self._line(self._out, text)

    def value(self, value: Any) -> None:
        """A JSON value: compact when piped, indented on a terminal."""
        if self.json:
            self._line(self._out, _compact(value))
        else:
            self._line(self._out, json.dumps(value, ensure_ascii=False, indent=2, default=_bytes))

    def record(self, record: Mapping[str, Any], text: str) -> None:
        self._line(self._out, _compact(record) if self.json else text)

    def publication(self, pub: Publication, epoch: str = "") -> None:
        record = publication_record(pub, epoch)
        payload = _compact(record.get("data", record.get("data_b64")))
        who = f"  (user {pub.info.user!r})" if pub.info is not None else ""
        self.record(record, f"{pub.channel} #{pub.offset}  {payload}{who}")

    def presence(self, channel: str, event: str, info: ClientInfo) -> None:
        """A join or leave event."""
        record = {"event": event, "channel": channel, **client_record(info)}
        verb = "joined" if event == "join" else "left"
        self.record(record, f"{channel}  user {info.user!r} (client {info.client}) {verb}")

    def client(self, client_id: str, info: ClientInfo) -> None:
        """One entry of a presence answer."""
        record = {**client_record(info), "client": client_id}
        self.record(record, f"user {info.user!r}  client {client_id}")
