"""Rate-limited logging of rejected messages (reliability.md Q1: "rejected, logged once, counted by reason").

A misbehaving endpoint can send thousands of bad messages a second; logging each would drown the log and slow
the service. One WARNING line is written per (endpoint, reason) per interval, and the next line says how many
were suppressed in between. Counting is done by the metrics, storing by the dead-letter table.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from goflex.cloudio.errors import RejectReason


class RejectionLog:
    """Writes at most one WARNING per (endpoint, reason) every ``interval_s`` seconds.

    Args:
        logger: where to write.
        monotonic: a clock that never goes backwards [s] (``Clock.monotonic``).
        interval_s: quiet time per key after a line [s].
        max_keys: keys remembered; the table is cleared when it grows beyond (a flood of random endpoint names
            must not grow memory without bound).
    """

    def __init__(
        self,
        logger: logging.Logger,
        monotonic: Callable[[], float],
        *,
        interval_s: float = 60.0,
        max_keys: int = 10_000,
    ) -> None:
        self._logger = logger
        self._monotonic = monotonic
        self._interval_s = interval_s
        self._max_keys = max_keys
        self._last: dict[tuple[str, RejectReason], tuple[float, int]] = {}

    def rejected(self, endpoint: str | None, reason: RejectReason, topic: str, detail: str) -> bool:
        """Note one rejection; return True if a line was written."""
        key = (endpoint or "?", reason)
        now = self._monotonic()
        last = self._last.get(key)
        if last is not None and now - last[0] < self._interval_s:
            self._last[key] = (last[0], last[1] + 1)
            return False
        if len(self._last) >= self._max_keys:
            self._last.clear()
        suppressed = last[1] if last is not None else 0
        more = f" ({suppressed} more since the last report)" if suppressed else ""
        self._logger.warning("rejected %s from %s on %r: %s%s", reason.value, key[0], topic[:200], detail[:300], more)
        self._last[key] = (now, 0)
        return True
