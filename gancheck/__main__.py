"""python -m gancheck train | score | report | plan"""
from __future__ import annotations

import signal

# Run as the command, Ctrl-C and SIGTERM wait until run_cli can report them in one line (exit
# 130 or 143, gancheck.cli.run_cli's ``held``): a signal during the imports below used to be a
# traceback and exit -2. gancheck/__init__.py, which Python imports before this, imports nothing.
_HELD = None
if __name__ == "__main__" and hasattr(signal, "pthread_sigmask"):
    _HELD = frozenset(signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM}))

from typing import Sequence  # noqa: E402

from gancheck.cli import ArgumentParser, exit_with, sigint_deferred  # noqa: E402


def main(argv: Sequence[str] | None = None) -> int:
    parser = ArgumentParser(prog="gancheck", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=ArgumentParser)
    # Each command module registers its own parser and handler; imports stay lazy so `score`
    # does not pay for torch. They load scipy and numpy: held like every heavy import.
    with sigint_deferred(sigterm=True):
        from gancheck.cli import plan, report, score, train
    for module in (train, score, report, plan):
        module.add_parser(commands)
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    exit_with(main, held=_HELD)
