"""Event-loop helpers shared by the services (asyncio, so not in the pure :mod:`goflex.common`)."""

from goflex.runtime.tasks import bounded, pending_tasks

__all__ = ["bounded", "pending_tasks"]
