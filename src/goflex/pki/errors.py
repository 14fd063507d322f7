"""Errors of the private certificate authority.

Tree::

    GoflexError
     +- PkiError                 the CA directory is missing, damaged or unusable
         +- InvalidIdentity      the name cannot be a goflex identity (refused before any key is made)
         +- AlreadyIssued        the name has a valid certificate (use renew) or belongs to another kind
         +- UnknownIdentity      no certificate was ever issued for the name
"""

from __future__ import annotations

from goflex.common import GoflexError


class PkiError(GoflexError):
    """The certificate authority cannot do what was asked; the message says why."""


class InvalidIdentity(PkiError):  # noqa: N818 - named for the caller's decision (style.md 5)
    """The name is not a valid identity (cloud.iO name rules, cloudio.md); nothing was issued."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"invalid identity {name[:80]!r}: {reason}")
        self.name = name
        self.reason = reason


class AlreadyIssued(PkiError):  # noqa: N818 - named for the caller's decision
    """The name already has a valid certificate, or is taken by a principal of another kind."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"identity {name!r} {reason}")
        self.name = name
        self.reason = reason


class UnknownIdentity(PkiError):  # noqa: N818 - named for the caller's decision
    """No certificate was ever issued for the name."""

    def __init__(self, name: str) -> None:
        super().__init__(f"no certificate was issued for {name!r}")
        self.name = name
