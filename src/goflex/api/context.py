"""What the routes share: the database repositories, the ``@set`` publisher, the clock and the health sources."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from fastapi import Request
from prometheus_client import CollectorRegistry

from goflex.api.publisher import SetPublisher
from goflex.common.clock import Clock
from goflex.store import Database, HistoryRepository, ProcessRepository, RightsRepository

API_PREFIX: Final = "/api/v1"
"""Every route lives below this prefix (cloud.iO's back-end API)."""

DEFAULT_HISTORY_MAX: Final = 10_000
"""Default and upper bound of the rows one history query returns."""

HealthSource = Callable[[], bool]
"""A part's health check: ``True`` if it works (must be quick; an exception counts as unhealthy)."""


@dataclass
class ApiServices:
    """What the routes share, kept on ``app.state.services``."""

    db: Database
    process: ProcessRepository
    history: HistoryRepository
    rights: RightsRepository
    publisher: SetPublisher
    clock: Clock
    health_sources: Mapping[str, HealthSource] = field(default_factory=dict)
    metrics_sources: Sequence[CollectorRegistry] = ()
    history_max: int = DEFAULT_HISTORY_MAX
    metrics_from_loopback: bool = True


def services(request: Request) -> ApiServices:
    """The :class:`ApiServices` of the app serving ``request``."""
    found: ApiServices = request.app.state.services
    return found
