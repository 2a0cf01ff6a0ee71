"""HTTP and server API clients for each adapter (private: the adapters re-export them).

``asyncio.py``, ``trio.py`` and ``blocking.py`` each give ``HttpClient`` (a small
kept-alive HTTP/1.1 client with ``request`` and ``post_json``), ``ApiClient`` (the
Centrifugo v6 server API) and ``LegacyApiClient`` (the 1.x server API), all on the
sans-I/O core (:mod:`centrifugo_proto.http`, :mod:`centrifugo_proto.api`).
Written once for all three: the typed methods (``_v6.py``, ``_legacy.py``, as
``_twin.py``'s twins: a plain method on a blocking client, a coroutine function on
an awaiting one), the exchange on a kept-alive connection (``_exchange.py``), the
clients' construction (``_clients.py``) and the helpers that do no I/O
(``_common.py``). ``_async.py`` holds what only asyncio and trio do (await), and
``blocking.py`` what only the blocking client does (sockets, its deadline).
"""
