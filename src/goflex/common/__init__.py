"""Shared foundations: time, units, errors, logging and settings (pure: no network or database)."""

from goflex.common.clock import Clock, RealClock, SimClock
from goflex.common.errors import ConfigError, GoflexError
from goflex.common.logs import redact, setup_logging
from goflex.common.settings import GoflexSettings, load_settings

__all__ = [
    "Clock",
    "ConfigError",
    "GoflexError",
    "GoflexSettings",
    "RealClock",
    "SimClock",
    "load_settings",
    "redact",
    "setup_logging",
]
