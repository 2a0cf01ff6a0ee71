"""Publishes a flood into one channel as fast as the server takes it, from a
process of its own (``python flood_publisher.py HTTP_URL API_KEY CHANNEL COUNT``),
so the test's own process spends nothing on it: the reader under test must keep
up with what the server sends, not with a publisher sharing its GIL.

The server API ``batch`` on one kept-alive connection, 500 publications a call;
each publication's data is ``{"n": i}``.
"""

from __future__ import annotations

import http.client
import json
import sys
from urllib.parse import urlsplit

BATCH = 500


def main(http_url: str, api_key: str, channel: str, count: int) -> None:
    parts = urlsplit(http_url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    headers = {"Content-Type": "application/json", "X-API-Key": api_key}
    for start in range(0, count, BATCH):
        commands = [
            {"publish": {"channel": channel, "data": {"n": n}}}
            for n in range(start, min(start + BATCH, count))
        ]
        connection.request("POST", "/api/batch", json.dumps({"commands": commands}), headers)
        response = connection.getresponse()
        body = json.loads(response.read())
        if response.status != 200 or any("error" in r for r in body["replies"]):
            raise SystemExit(f"the server refused a batch: {response.status} {body}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
