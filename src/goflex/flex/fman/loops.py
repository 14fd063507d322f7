"""FMAN's background loop: bid rounds, market pulls and settlements on the platform clock.

The loop keeps going whatever happens: when FMAR is unreachable it counts the failure and retries after a capped
full-jitter backoff (:class:`goflex.cloudio.backoff.Backoff`); any other error is logged, counted and the loop
continues (style.md 5: the one place for a broad ``except``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from goflex.cloudio.backoff import Backoff
from goflex.flex.fman.errors import MarketUnavailable

if TYPE_CHECKING:
    from goflex.flex.fman.service import FlexibilityManager

log = logging.getLogger(__name__)


async def run_loops(manager: FlexibilityManager) -> None:
    """Bid every ``bid_interval_s`` and pull every ``pull_interval_s`` of the platform clock, until cancelled."""
    trader, settings, clock = manager.trader, manager.settings, manager.clock
    backoff = Backoff(settings.backoff_base_s, settings.backoff_cap_s)
    next_bid = next_pull = clock.monotonic()
    failures = 0
    while True:
        now = clock.monotonic()
        try:
            if now >= next_pull:
                next_pull = now + settings.pull_interval_s
                await trader.market_pull()
                await trader.settle_round()
            if now >= next_bid:
                next_bid = now + settings.bid_interval_s
                await trader.bid_round()
            failures = 0
        except MarketUnavailable as exc:
            manager.counters["market_failures"] += 1
            delay = max(0.5, backoff.delay(failures))
            failures += 1
            log.warning("FMAR unavailable (%s); retry in %.1f s", exc, delay)
            next_bid = min(next_bid, now + delay)
            next_pull = min(next_pull, now + delay)
        except Exception:  # the service's top loop: log, count, continue
            manager.counters["loop_errors"] += 1
            log.exception("FMAN loop error")
        await clock.sleep(max(0.05, min(next_bid, next_pull) - clock.monotonic()))
