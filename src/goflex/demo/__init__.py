"""``goflex demo``: the pilot on embedded defaults (embedded broker, SQLite, ingest, API, simulated houses)."""

from goflex.demo.runner import DemoOptions, run_demo

__all__ = ["DemoOptions", "run_demo"]
