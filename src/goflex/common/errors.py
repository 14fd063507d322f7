"""The root of every goflex error.

Each part defines its own base under :class:`GoflexError` (``CloudioError``, ``StoreError``, ...) and names
subclasses for the decision the caller has to take (``RejectedPayload``, ``NotAuthorised``). Third-party errors
are translated at the edge of a part (``raise Mapped(...) from exc``) so callers never see a library's types.

Tree::

    GoflexError
     +- ConfigError          settings missing or invalid
     +- (one base per part, defined in that part)
"""

from __future__ import annotations


class GoflexError(Exception):
    """Base class of every error goflex raises on purpose."""


class ConfigError(GoflexError):
    """A setting is missing or invalid; the message names the setting."""

    def __init__(self, setting: str, problem: str) -> None:
        super().__init__(f"setting {setting!r}: {problem}")
        self.setting = setting
        self.problem = problem
