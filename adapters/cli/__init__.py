"""``centrifugo-proto``: a command-line client for Centrifugo (docs/cli.md).

Installed as ``centrifugo_proto.adapters.cli`` (a console script, and
``python -m centrifugo_proto``). It lives with the adapters, outside the pure
core: it reads the environment, the clock and files, and handles signals.

:func:`main` parses the command line, runs the command on the adapter
``--adapter`` picks, and turns every failure into a message on stderr and an
exit code of its own (``_exits.Exit``); Ctrl-C ends it with 130, no traceback.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence

from ._exits import CliError, Exit

__all__ = ["main"]


def _interrupted(error: BaseException) -> bool:
    """A KeyboardInterrupt, or a group (trio's) holding only KeyboardInterrupts."""
    if isinstance(error, KeyboardInterrupt):
        return True
    inner: tuple[BaseException, ...] = getattr(error, "exceptions", ())
    return bool(inner) and all(map(_interrupted, inner))


def _run(argv: Sequence[str] | None) -> int:
    from . import _commands
    from ._args import parser, settings
    from ._output import Output
    from ._runtime import runtime

    args = parser().parse_args(argv)
    env = os.environ
    if args.command == "gentoken":
        _commands.gentoken(Output("json", True), args, env, _commands.clock())
        return Exit.OK
    resolved = settings(args, env, sys.stdout.isatty())
    out = Output(resolved.output, resolved.quiet)
    levels = (logging.WARNING, logging.INFO, logging.DEBUG)
    logging.basicConfig(
        level=levels[min(resolved.verbose, 2)], format="centrifugo-proto: %(name)s: %(message)s"
    )
    try:
        rt = runtime(resolved.adapter)
    except ImportError as exc:
        raise CliError(
            Exit.USAGE, f"the {resolved.adapter} adapter is not available: {exc}"
        ) from None
    command = getattr(_commands, args.command)
    rt.run(lambda: command(rt, resolved, out, args))
    return Exit.OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``centrifugo-proto`` with ``argv`` (default: ``sys.argv[1:]``); the exit code."""
    try:
        return _run(argv)
    except CliError as error:
        if error.code == Exit.BROKEN_PIPE:
            _silence_stdout()
        elif error.message:
            print(f"centrifugo-proto: {error.message}", file=sys.stderr, flush=True)
        return error.code
    except BrokenPipeError:
        _silence_stdout()
        return Exit.BROKEN_PIPE
    except BaseException as error:
        if _interrupted(error):
            print("centrifugo-proto: interrupted", file=sys.stderr, flush=True)
            return Exit.INTERRUPTED
        raise


def _silence_stdout() -> None:
    """The reader went away: point stdout at /dev/null, so the interpreter's own
    flush at exit does not fail again (the ``signal`` docs' recipe)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
