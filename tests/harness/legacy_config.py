"""The Centrifugo 1.8.0 configuration the harness generates: template, overrides, checks.

`build_legacy_config(overrides, namespaces=...)` reads `legacy.template.json`, merges
the caller's top-level overrides (`None` removes a key, dicts merge, anything else
replaces) and appends extra namespaces. 1.8.0's own `checkconfig` passes unknown keys
and ill-typed values, which the server then ignores, so this module refuses them:
a key 1.8.0 does not read, a non-bool for a bool option, a non-int for an int one
(seconds, bytes, counts), and `address`/`port`, which the harness gives on the command
line. Standard library only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .centrifugo import JSONDict, merge_config
from .process import HarnessError

__all__ = ["LEGACY_TEMPLATE_PATH", "build_legacy_config"]

LEGACY_TEMPLATE_PATH = Path(__file__).with_name("legacy.template.json")

# 1.8.0's `checkconfig` accepts any key and any value ("anonymus": true, or
# "connection_lifetime": "5s", read as 0), so a misspelt override would be ignored in
# silence. The harness checks keys and types itself, against what the 1.8.0 source
# reads: `libcentrifugo/centrifugo/config.go` (`newNodeConfig`, viper GetBool/GetInt)
# and `main.go` (defaults, flags), the Redis engine's options, and `channel.Options`.
_BOOL_OPTIONS = frozenset(
    {"anonymous", "history_drop_inactive", "join_leave", "presence", "publish", "recover", "watch"}
)
_INT_OPTIONS = frozenset({"history_lifetime", "history_size"})
_NAMESPACE_KEYS = _BOOL_OPTIONS | _INT_OPTIONS | {"name"}
_BOOL_KEYS = _BOOL_OPTIONS | {
    "admin",
    "debug",
    "insecure",
    "insecure_admin",
    "insecure_api",
    "web",
    "websocket_compression",
}
_INT_KEYS = _INT_OPTIONS | {
    "client_channel_limit",
    "client_message_write_timeout",
    "client_queue_initial_capacity",
    "client_queue_max_size",
    "client_request_max_size",
    "connection_lifetime",
    "expired_connection_close_delay",
    "max_channel_length",
    "node_metrics_interval",
    "node_ping_interval",
    "ping_interval",
    "presence_expire_interval",
    "presence_ping_interval",
    "stale_connection_close_delay",
    "user_connection_limit",
    "websocket_compression_level",
    "websocket_compression_min_size",
    "websocket_read_buffer_size",
    "websocket_write_buffer_size",
}
# Strings, lists and the rest; the engine's and TLS's keys untyped here.
_OTHER_KEYS = frozenset(
    {
        "admin_password",
        "admin_port",
        "admin_secret",
        "api_port",
        "client_channel_boundary",
        "engine",
        "gomaxprocs",
        "http_prefix",
        "log_file",
        "log_level",
        "name",
        "namespace_channel_boundary",
        "namespaces",
        "pid_file",
        "private_channel_prefix",
        "secret",
        "sockjs_heartbeat_delay",
        "sockjs_url",
        "user_channel_boundary",
        "user_channel_separator",
        "web_path",
        "redis_api",
        "redis_api_num_shards",
        "redis_connect_timeout",
        "redis_db",
        "redis_host",
        "redis_master_name",
        "redis_password",
        "redis_pool",
        "redis_port",
        "redis_prefix",
        "redis_pubsub_num_workers",
        "redis_read_timeout",
        "redis_sentinels",
        "redis_url",
        "redis_write_timeout",
        "ssl",
        "ssl_autocert",
        "ssl_autocert_cache_dir",
        "ssl_autocert_email",
        "ssl_autocert_force_rsa",
        "ssl_autocert_host_whitelist",
        "ssl_autocert_http",
        "ssl_autocert_http_addr",
        "ssl_autocert_server_name",
        "ssl_cert",
        "ssl_key",
    }
)
_CONFIG_KEYS = _BOOL_KEYS | _INT_KEYS | _OTHER_KEYS
# Given on the command line (`-a 127.0.0.1 -p PORT`): loopback and a free port, always.
_HARNESS_KEYS = frozenset({"address", "port"})


def build_legacy_config(
    overrides: Mapping[str, Any] | None = None,
    *,
    namespaces: Sequence[Mapping[str, Any]] = (),
) -> JSONDict:
    """The template with the caller's overrides, then the extra `namespaces` appended."""
    config = json.loads(LEGACY_TEMPLATE_PATH.read_text(encoding="utf-8"))
    if not isinstance(config, dict):
        raise HarnessError(f"{LEGACY_TEMPLATE_PATH.name} must hold a JSON object")
    config = merge_config(config, overrides or {})
    if namespaces:
        config["namespaces"] = [*config.get("namespaces", []), *map(dict, namespaces)]
    _check_keys(config)
    return config


def _check_keys(config: Mapping[str, Any]) -> None:
    """Refuse what 1.8.0 would ignore: unknown keys, and values of the wrong type."""
    problems = [f"{key!r} is set by the harness" for key in _HARNESS_KEYS & config.keys()]
    problems += _key_problems(config, _CONFIG_KEYS - _HARNESS_KEYS, "")
    namespaces = config.get("namespaces", [])
    if not isinstance(namespaces, list):
        problems.append("'namespaces' must be a list")
        namespaces = []
    for index, namespace in enumerate(namespaces):
        if not isinstance(namespace, Mapping):
            problems.append(f"namespaces[{index}] must be an object")
            continue
        where = f"namespace {namespace.get('name', index)!r}: "
        problems += _key_problems(namespace, _NAMESPACE_KEYS, where)
    if problems:
        raise HarnessError(
            "Centrifugo 1.8.0 config (its checkconfig would accept this and the server "
            "ignore it): " + "; ".join(problems)
        )


def _key_problems(options: Mapping[str, Any], known: frozenset[str], where: str) -> list[str]:
    problems = [f"{where}unknown key {key!r}" for key in sorted(options.keys() - known)]
    for key, value in sorted(options.items()):
        if key in _BOOL_KEYS and not isinstance(value, bool):
            problems.append(f"{where}{key!r} must be a bool, not {value!r}")
        elif key in _INT_KEYS and (isinstance(value, bool) or not isinstance(value, int)):
            problems.append(f"{where}{key!r} must be an int (seconds, bytes, count), not {value!r}")
    return problems
