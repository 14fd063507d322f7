"""Pacing for the SDKs, pure: reconnect backoff and the back-fill rate limit.

* :class:`Backoff`: capped exponential backoff with *full jitter* (delay uniformly drawn from
  ``[0, min(cap, base * 2**attempt)]``, Brooker, "Exponential Backoff And Jitter", AWS Architecture Blog, 2015).
  Full jitter spreads the reconnects of thousands of gateways after a broker restart instead of letting them
  all hit it in the same second (reliability.md R1, R5).
* :class:`TokenBucket`: a capped rate for draining an outbox backlog after a reconnect, so that live data keeps
  flowing beside it (reliability.md R3).

Both take the current time or a random source as arguments: no clock, no I/O.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Backoff:
    """Capped full-jitter exponential backoff.

    Attributes:
        base_s: the ceiling of the first retry's delay [s] (> 0).
        cap_s: no delay exceeds this [s] (>= base_s).
    """

    base_s: float = 1.0
    cap_s: float = 60.0

    def __post_init__(self) -> None:
        if not (self.base_s > 0 and math.isfinite(self.base_s)):
            raise ValueError(f"backoff base must be a positive number of seconds, got {self.base_s}")
        if not (self.cap_s >= self.base_s and math.isfinite(self.cap_s)):
            raise ValueError(f"backoff cap must be >= base ({self.base_s} s), got {self.cap_s}")

    def ceiling(self, attempt: int) -> float:
        """Upper bound of the delay before retry number ``attempt`` (0 = first retry) [s].

        Non-decreasing in ``attempt`` and never above ``cap_s``; safe for any attempt count (no overflow).
        """
        attempt = max(0, attempt)
        # 2**attempt overflows a float beyond ~1023; once the cap is reached the exponent no longer matters.
        doublings_to_cap = math.ceil(math.log2(self.cap_s / self.base_s)) if self.cap_s > self.base_s else 0
        return min(self.cap_s, self.base_s * 2.0 ** min(attempt, doublings_to_cap))

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """A random delay in ``[0, ceiling(attempt)]`` [s] (full jitter)."""
        draw = (rng or random).random()
        return draw * self.ceiling(attempt)


@dataclass(slots=True)
class TokenBucket:
    """A rate limit: ``rate_per_s`` tokens per second, at most ``burst`` saved up.

    Args:
        rate_per_s: refill rate [1/s] (> 0).
        burst: bucket size [tokens] (>= 1); the bucket starts full.
        now: the current monotonic time [s].
    """

    rate_per_s: float
    burst: float
    now: float
    _tokens: float = field(init=False)
    _last: float = field(init=False)

    def __post_init__(self) -> None:
        if not (self.rate_per_s > 0 and math.isfinite(self.rate_per_s)):
            raise ValueError(f"token bucket rate must be positive, got {self.rate_per_s}")
        if self.burst < 1:
            raise ValueError(f"token bucket burst must be >= 1, got {self.burst}")
        self._tokens = float(self.burst)
        self._last = self.now

    def _refill(self, now: float) -> None:
        if now > self._last:
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate_per_s)
            self._last = now

    def take(self, now: float, n: float = 1.0) -> float:
        """Take ``n`` tokens at time ``now`` [s]; return how long to wait first [s] (0 if available now).

        The tokens are reserved either way (the balance may go negative), so callers simply sleep the returned
        time and proceed.
        """
        self._refill(now)
        self._tokens -= n
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate_per_s
