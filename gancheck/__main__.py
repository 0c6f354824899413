"""python -m gancheck train | score | report | plan"""
from __future__ import annotations

from typing import Sequence

from gancheck.cli import ArgumentParser, exit_with


def main(argv: Sequence[str] | None = None) -> int:
    parser = ArgumentParser(prog="gancheck", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=ArgumentParser)
    # Each command module registers its own parser and handler; imports stay lazy so `score`
    # does not pay for torch.
    from gancheck.cli import plan, report, score, train
    for module in (train, score, report, plan):
        module.add_parser(commands)
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    exit_with(main)
