"""``goflex bench market --json`` (being built)."""

from __future__ import annotations

from typing import Any


def register(commands: Any) -> None:
    """Add ``market`` to ``goflex bench`` (not yet: being built)."""
    del commands
