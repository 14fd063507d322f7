"""Prometheus metrics of one ingest service instance (DESIGN.md 4: services expose health and metrics).

Each :class:`IngestMetrics` owns its own :class:`prometheus_client.CollectorRegistry` rather than the global one,
so that several services (or several test instances) in one process do not collide; the API mounts the registry
(or calls :meth:`IngestMetrics.text`).
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from goflex.cloudio.errors import RejectReason

_LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Lag spans live data (well under a second) to back-filled outbox entries (hours, days: R3 is 24 h offline).
_LAG_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0, 21600.0, 86400.0, 604800.0)


class IngestMetrics:
    """The counters, gauges and histograms of one ingest worker (names prefixed ``goflex_ingest_``)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        p = "goflex_ingest"
        self.received = Counter(f"{p}_messages_received", "MQTT messages received", ["action"], registry=r)
        self.stored = Counter(f"{p}_rows_stored", "attribute values newly written to the history", registry=r)
        self.duplicates = Counter(
            f"{p}_rows_duplicate", "attribute values already stored (same endpoint and sequence)", registry=r
        )
        self.rejected = Counter(f"{p}_rejected", "messages or items rejected, by reason", ["reason"], registry=r)
        for reason in RejectReason:
            self.rejected.labels(reason=reason.value)  # every reason visible from the start, at 0
        self.acks = Counter(f"{p}_acks_sent", "@ack messages published", registry=r)
        self.resend_requests = Counter(
            f"{p}_resend_requested", "sequence numbers asked to be re-sent (gap back-fill)", registry=r
        )
        self.gaps_abandoned = Counter(
            f"{p}_gaps_abandoned", "missing sequence numbers given up (beyond lookback or retries)", registry=r
        )
        self.dropped = Counter(
            f"{p}_rows_dropped", "rows dropped unacknowledged because the pending buffer was full", registry=r
        )
        self.store_errors = Counter(f"{p}_store_errors", "failed database writes (retried)", registry=r)
        self.gaps_open = Gauge(f"{p}_gaps_open", "missing sequence numbers currently tracked", registry=r)
        self.pending = Gauge(f"{p}_pending_rows", "rows received but not yet committed", registry=r)
        self.db_up = Gauge(f"{p}_db_up", "1 if the last database write succeeded", registry=r)
        self.mqtt_up = Gauge(f"{p}_mqtt_up", "1 while connected to the broker", registry=r)
        self.batch_latency = Histogram(
            f"{p}_batch_seconds", "time to commit one batch [s]", registry=r, buckets=_LATENCY_BUCKETS_S
        )
        self.lag = Histogram(
            f"{p}_lag_seconds",
            "commit time minus the value's timestamp [s]",
            registry=r,
            buckets=_LAG_BUCKETS_S,
        )

    def text(self) -> bytes:
        """The Prometheus text exposition of this registry."""
        data: bytes = generate_latest(self.registry)
        return data

    def snapshot(self) -> IngestCounts:
        """The main counters as plain numbers (for summaries such as ``goflex demo``'s)."""

        def total(name: str) -> int:
            value = 0.0
            for metric in self.registry.collect():
                for sample in metric.samples:
                    if sample.name == f"goflex_ingest_{name}_total":
                        value += sample.value
            return int(value)

        return IngestCounts(
            received=total("messages_received"),
            stored=total("rows_stored"),
            duplicates=total("duplicates"),
            rejected=total("rejected"),
        )


@dataclass(frozen=True)
class IngestCounts:
    """Totals since the service started."""

    received: int
    stored: int
    duplicates: int
    rejected: int
