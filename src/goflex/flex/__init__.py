"""FlexOffer core (pure): the FlexOffer model, its User Group JSON codec and validation.

Energy is consumption-positive inside goflex; see :mod:`goflex.flex.model`.
"""

from goflex.flex.json_codec import (
    FlexOfferError,
    InvalidFlexOffer,
    dump_document,
    dump_offer,
    dumps,
    loads,
    parse_document,
    parse_offer,
)
from goflex.flex.model import (
    DEFAULT_SECONDS_PER_INTERVAL,
    EnergyConstraint,
    FlexOffer,
    FlexOfferState,
    ProfileSlice,
    Schedule,
    ScheduleSlice,
    TariffConstraint,
)
from goflex.flex.validation import Problem, require_valid, validate_offer, validate_schedule

__all__ = [
    "DEFAULT_SECONDS_PER_INTERVAL",
    "EnergyConstraint",
    "FlexOffer",
    "FlexOfferError",
    "FlexOfferState",
    "InvalidFlexOffer",
    "Problem",
    "ProfileSlice",
    "Schedule",
    "ScheduleSlice",
    "TariffConstraint",
    "dump_document",
    "dump_offer",
    "dumps",
    "loads",
    "parse_document",
    "parse_offer",
    "require_valid",
    "validate_offer",
    "validate_schedule",
]
