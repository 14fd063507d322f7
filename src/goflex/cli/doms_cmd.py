"""``goflex doms ...``: DOMS: imbalance scenarios, analysis, evaluation and the live service."""

from __future__ import annotations

from typing import Any


def register(sub: Any) -> None:
    """Add the ``doms`` command group."""
    group = sub.add_parser("doms", help="DOMS: imbalance scenarios, analysis, evaluation and the live service")
    commands = group.add_subparsers(dest="doms_command", metavar="COMMAND", required=True)
    from goflex.cli.doms_evaluate_cmd import add_evaluate  # noqa: PLC0415 - owned by the evaluation module

    add_evaluate(commands)
