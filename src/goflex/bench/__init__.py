"""``goflex bench ...``: performance figures as JSON, each compared with a baseline measured in the same run."""

from goflex.bench.ingest import IngestBenchOptions, bench_ingest
from goflex.bench.twin import TwinBenchOptions, bench_twin

__all__ = ["IngestBenchOptions", "TwinBenchOptions", "bench_ingest", "bench_twin"]
