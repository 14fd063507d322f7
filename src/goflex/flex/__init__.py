"""FlexOffer core (pure): the FlexOffer model, its User Group JSON codec, validation, aggregation, disaggregation.

Energy is consumption-positive inside goflex; see :mod:`goflex.flex.model`.
"""

from goflex.flex.aggregation import (
    Aggregate,
    AggregationParameters,
    Aggregator,
    aggregate,
    aggregate_all,
    time_flexibility,
    time_flexibility_loss,
)
from goflex.flex.disaggregation import Disaggregation, InvalidAggregateSchedule, NoValidDisaggregation, disaggregate
from goflex.flex.json_codec import (
    FlexOfferError,
    InvalidFlexOffer,
    dump_document,
    dump_offer,
    dump_schedule,
    dumps,
    loads,
    parse_document,
    parse_offer,
    parse_schedule,
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
    "Aggregate",
    "AggregationParameters",
    "Aggregator",
    "Disaggregation",
    "EnergyConstraint",
    "FlexOffer",
    "FlexOfferError",
    "FlexOfferState",
    "InvalidAggregateSchedule",
    "InvalidFlexOffer",
    "NoValidDisaggregation",
    "Problem",
    "ProfileSlice",
    "Schedule",
    "ScheduleSlice",
    "TariffConstraint",
    "aggregate",
    "aggregate_all",
    "disaggregate",
    "dump_document",
    "dump_offer",
    "dump_schedule",
    "dumps",
    "loads",
    "parse_document",
    "parse_offer",
    "parse_schedule",
    "require_valid",
    "time_flexibility",
    "time_flexibility_loss",
    "validate_offer",
    "validate_schedule",
]
