"""The server HTTP API from the backend: publish, read back, batch, node info.

``ApiClient`` (here the asyncio one; ``.trio`` and ``.blocking`` have the same
methods) talks to Centrifugo's ``/api`` with the API key; each method is typed.
Environment, as ``scripts/with_centrifugo.py`` sets it:

    CENTRIFUGO_HTTP_URL  http://127.0.0.1:8000 (the API is under /api)
    CENTRIFUGO_API_KEY   the server's http_api.key
"""

from __future__ import annotations

import asyncio
import os

from centrifugo_proto import ApiError
from centrifugo_proto.adapters.asyncio import ApiClient
from centrifugo_proto.api import HistoryRequest, PublishRequest

CHANNEL = "chat:api-demo"


async def main() -> None:
    base = os.environ.get("CENTRIFUGO_HTTP_URL", "http://127.0.0.1:8000")
    async with ApiClient(f"{base}/api", api_key=os.environ["CENTRIFUGO_API_KEY"]) as api:
        result = await api.publish(CHANNEL, {"text": "from the backend"}, tags={"kind": "note"})
        print(f"published at offset {result.offset} (epoch {result.epoch})")

        history = await api.history(CHANNEL, limit=10)
        for pub in history.publications:
            print(f"history #{pub.offset}: {pub.data} tags {pub.tags}")

        # A batch answers item by item: a result, or the ApiError of that item alone.
        items = await api.batch(
            [
                PublishRequest(CHANNEL, {"text": "second"}),
                PublishRequest("nowhere:x", {"text": "lost"}),  # no such namespace
                HistoryRequest(CHANNEL, limit=0),
            ]
        )
        for n, item in enumerate(items, 1):
            if isinstance(item, ApiError):
                print(f"batch item {n}: error {item.code} {item.message}")
            else:
                print(f"batch item {n}: {type(item).__name__}")

        try:
            await api.publish("nowhere:x", {"text": "lost"})
        except ApiError as exc:  # the server refused the command
            print(f"publish refused: code {exc.code}, {exc.message}")

        info = await api.info()
        print(f"{len(info.nodes)} node(s), version {info.nodes[0].version}")


if __name__ == "__main__":
    asyncio.run(main())
