"""HTTP and server API clients for each adapter (private: the adapters re-export them).

``asyncio.py``, ``trio.py`` and ``blocking.py`` each give ``HttpClient`` (a small
kept-alive HTTP/1.1 client with ``request`` and ``post_json``), ``ApiClient`` (the
Centrifugo v6 server API) and ``LegacyApiClient`` (the 1.x server API), all on the
sans-I/O core (:mod:`centrifugo_proto.http`, :mod:`centrifugo_proto.api`).
``_async.py`` holds what asyncio and trio share; ``_common.py`` what all three do.
"""
