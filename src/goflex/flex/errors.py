"""Errors of the FlexOffer core."""

from __future__ import annotations

from goflex.common.errors import GoflexError


class FlexOfferError(GoflexError):
    """Base of every error the FlexOffer core raises."""


class InvalidFlexOffer(FlexOfferError):  # noqa: N818 - named for what is wrong (style.md 5)
    """A FlexOffer or schedule breaks a rule; reject it (the caller cannot repair it).

    Attributes:
        field: path of the offending field in wire names, e.g.
            ``flexOffer[0].flexOfferProfileConstraints[1].energyConstraintList[0]``.
        rule: the rule broken, in words.
    """

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule
