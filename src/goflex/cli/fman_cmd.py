"""``goflex fman ...``: the Flexibility Manager (FMAN, aggregator) service."""

from __future__ import annotations

from typing import Any


def register(sub: Any) -> None:
    """Add the ``fman`` command group."""
    group = sub.add_parser("fman", help="the Flexibility Manager (FMAN, aggregator) service")
    group.add_subparsers(dest="fman_command", metavar="COMMAND", required=True)
