"""``goflex bench ...``: performance figures as JSON, each compared with a baseline measured in the same run."""

from goflex.bench.ingest import IngestBenchOptions, bench_ingest

__all__ = ["IngestBenchOptions", "bench_ingest"]
