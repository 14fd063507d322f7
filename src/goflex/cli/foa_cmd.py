"""``goflex foa ...``: FlexOffer Agents."""

from __future__ import annotations

from typing import Any


def register(sub: Any) -> None:
    """Add the ``foa`` command group."""
    group = sub.add_parser("foa", help="FlexOffer Agents")
    group.add_subparsers(dest="foa_command", metavar="COMMAND", required=True)
