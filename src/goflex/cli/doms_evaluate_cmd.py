"""``goflex doms evaluate`` (being built)."""

from __future__ import annotations

from typing import Any


def add_evaluate(commands: Any) -> None:
    """Add ``evaluate`` to the ``goflex doms`` group (not yet: the evaluation is being built)."""
    del commands
