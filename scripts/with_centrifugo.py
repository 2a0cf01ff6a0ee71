"""Run a command against a throw-away Centrifugo server.

    python scripts/with_centrifugo.py COMMAND [ARG...]

Starts Centrifugo (see tests/harness) on a free loopback port, with client RPC
proxied to the test backend (`echo`, `refuse`, ...), runs COMMAND with

    CENTRIFUGO_WS_URL       ws://127.0.0.1:PORT/connection/websocket
    CENTRIFUGO_HTTP_URL     http://127.0.0.1:PORT (server API under /api/)
    CENTRIFUGO_API_KEY      the server API key
    CENTRIFUGO_HMAC_SECRET  the HS256 secret for connection and subscription tokens

in its environment, stops the server and exits with COMMAND's exit code. The binary
is `$CENTRIFUGO_BIN`, else the one `make centrifugo` builds.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from harness import CentrifugoServer, HarnessError, RpcBackend


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip() if __doc__ else "", file=sys.stderr)
        return 2
    try:
        with (
            RpcBackend() as backend,
            CentrifugoServer(rpc_proxy_endpoint=backend.url) as server,
        ):
            env = dict(
                os.environ,
                CENTRIFUGO_WS_URL=server.ws_url,
                CENTRIFUGO_HTTP_URL=server.http_url,
                CENTRIFUGO_API_KEY=server.api_key,
                CENTRIFUGO_HMAC_SECRET=server.hmac_secret,
            )
            print(f"with_centrifugo: server at {server.http_url}", file=sys.stderr)
            try:
                code = subprocess.call(argv, env=env)
            except KeyboardInterrupt:
                return 130
            # Killed by a signal: report it the way a shell does.
            return 128 - code if code < 0 else code
    except HarnessError as exc:
        print(f"with_centrifugo: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
