"""Best-effort pushes of schedules and rejections to sellers' callback URLs (trading contract: pull is the truth).

Requests are handed over from any thread (:meth:`Pusher.submit`) and sent by one task on the event loop with a
short timeout, so a slow or dead callback never blocks the request path. A failed push is logged (without the
payload) and counted; the seller still gets the schedule from ``GET /schedules``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Final

import httpx

log = logging.getLogger(__name__)

QUEUE_SIZE: Final = 10_000


class Pusher:
    """One sender task; :meth:`submit` is thread-safe and never blocks.

    Args:
        timeout_s: timeout of one POST [s].
    """

    def __init__(self, *, timeout_s: float = 2.0) -> None:
        self._timeout_s = timeout_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[tuple[str, dict[str, Any]]] | None = None
        self._task: asyncio.Task[None] | None = None
        self.sent = 0
        self.failed = 0
        self.dropped = 0

    async def start(self) -> None:
        """Start the sender on the running loop."""
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue(QUEUE_SIZE)
        self._task = asyncio.create_task(self._send_all(), name="fmar-push")

    async def stop(self) -> None:
        """Stop the sender (pending pushes are dropped; sellers pull them)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._loop = None

    def submit(self, url: str, payload: dict[str, Any]) -> None:
        """Queue one POST of ``payload`` to ``url`` (dropped when not running or the queue is full)."""
        loop, queue = self._loop, self._queue
        if loop is None or queue is None or loop.is_closed():
            self.dropped += 1
            return

        def put() -> None:
            try:
                queue.put_nowait((url, payload))
            except asyncio.QueueFull:
                self.dropped += 1

        loop.call_soon_threadsafe(put)

    async def _send_all(self) -> None:
        assert self._queue is not None
        async with httpx.AsyncClient(timeout=self._timeout_s) as client:
            while True:
                url, payload = await self._queue.get()
                try:
                    response = await client.post(url, json=payload)
                    response.raise_for_status()
                    self.sent += 1
                except httpx.HTTPError as exc:
                    self.failed += 1
                    log.warning("push to %s failed: %s", url, type(exc).__name__)
