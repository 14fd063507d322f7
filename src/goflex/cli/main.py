"""The ``goflex`` command (DESIGN.md 5.2): parses arguments, loads settings, calls a part. No logic here.

Each group of sub-commands lives in its own module with a ``register(subparsers)`` function that adds its
parsers and sets ``handler`` on them; a handler returns the process exit code. ``--json`` output goes to
stdout as one JSON document; human text goes to stderr.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from goflex.common import GoflexError, setup_logging

# Command groups, in the order ``goflex --help`` lists them. Each module defines ``register``.
COMMAND_MODULES: tuple[str, ...] = (
    "demo_cmd",
    "twin_cmd",
    "gateway_cmd",
    "meter_cmd",
    "flex_cmd",
    "foa_cmd",
    "fman_cmd",
    "market_cmd",
    "doms_cmd",
    "pki_cmd",
    "broker_cmd",
    "serve_cmd",
    "history_cmd",
    "bench_cmd",
)

log = logging.getLogger("goflex.cli")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="goflex", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING or ERROR (default INFO)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(f"goflex.cli.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.log_level)
    try:
        code: int = args.handler(args)
    except GoflexError as exc:
        print(f"goflex: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
