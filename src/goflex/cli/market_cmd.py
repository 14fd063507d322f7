"""``goflex market ...``: the Flexibility Market (FMAR) service."""

from __future__ import annotations

from typing import Any


def register(sub: Any) -> None:
    """Add the ``market`` command group."""
    group = sub.add_parser("market", help="the Flexibility Market (FMAR) service")
    group.add_subparsers(dest="market_command", metavar="COMMAND", required=True)
