"""Bounded shutdown stages that say what hung: a stop that never returns must not hang the whole program.

A service's stop awaits other parts (an HTTP server waiting for a request, a client waiting for a broker); one
of them waiting forever would keep a process from ever exiting, and a supervisor (systemd, the demo's Ctrl-C)
would have to kill it without knowing why. :func:`bounded` waits for a stage up to a limit, cancels it after,
and logs the stacks of the tasks still pending, so the log names the part that hung.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Awaitable

log = logging.getLogger(__name__)


def pending_tasks(limit: int = 8) -> str:
    """The running loop's pending tasks (other than the caller's), each with its innermost ``limit`` frames."""
    current = asyncio.current_task()
    out = io.StringIO()
    for task in sorted(asyncio.all_tasks(), key=lambda t: t.get_name()):
        if task is current or task.done():
            continue
        out.write(f"task {task.get_name()}: {task.get_coro()!r}\n")
        for frame in task.get_stack(limit=limit):
            code = frame.f_code
            out.write(f"    {code.co_filename}:{frame.f_lineno} in {code.co_name}\n")
    return out.getvalue()


async def bounded(what: str, awaitable: Awaitable[object], timeout_s: float) -> bool:
    """Await ``awaitable`` up to ``timeout_s`` [s]; after that, log what was pending and cancel it.

    The pending tasks are listed *before* the cancellation, so the stage's own stack is in the log.

    Returns:
        True if it finished in time (its exception, if any, is raised), False if it was cut.
    """
    task = asyncio.ensure_future(awaitable)
    try:
        done, _ = await asyncio.wait({task}, timeout=timeout_s)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if task in done:
        task.result()
        return True
    pending = pending_tasks()
    task.cancel()
    log.error("%s did not finish within %.0f s and was cancelled; pending tasks:\n%s", what, timeout_s, pending)
    await asyncio.wait({task}, timeout=1.0)  # let it unwind, but never wait for it again
    return False


__all__ = ["bounded", "pending_tasks"]
