"""Best-effort push of schedules and rejections to agents that have a callback URL (the heartbeat pull is the truth).

``POST {callbackUrl}/schedules`` with ``{"flexOfferId", "flexOfferSchedule"}`` or ``{"flexOfferId", "rejected"}``
(trading contract, FMAN section). Failures are counted and logged without the payload; nothing is retried, since
the agent gets the same delivery in its next heartbeat until it acks it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import Any

import httpx

log = logging.getLogger(__name__)


class Pusher:
    """Fire-and-forget POSTs to agents' callbacks.

    Args:
        counters: where ``push_ok`` / ``push_failed`` are counted.
        timeout_s: per push [s].
    """

    def __init__(self, counters: Counter[str], *, timeout_s: float = 5.0) -> None:
        self._counters = counters
        self._client = httpx.AsyncClient(timeout=timeout_s)
        self._tasks: set[asyncio.Task[None]] = set()

    def push(self, callback_url: str, payload: dict[str, Any]) -> None:
        """Start a push in the background (needs a running event loop)."""
        task = asyncio.get_running_loop().create_task(self._post(callback_url.rstrip("/") + "/schedules", payload))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _post(self, url: str, payload: dict[str, Any]) -> None:
        try:
            response = await self._client.post(url, json=payload)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            self._counters["push_failed"] += 1
            log.info("push of %s to its agent failed: %s", payload.get("flexOfferId"), type(exc).__name__)
        else:
            self._counters["push_ok"] += 1

    async def drain(self) -> None:
        """Wait for the pushes in flight (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        """Finish the pushes in flight and close the connection pool."""
        await self.drain()
        await self._client.aclose()
