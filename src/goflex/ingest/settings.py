"""Settings of the ingest service (environment ``GOFLEX_...``, TOML table ``[ingest]``)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field

from goflex.common.settings import GoflexSettings

DAY_S = 86_400.0


class IngestSettings(GoflexSettings):
    """What an ingest worker needs besides the shared settings (database and broker URL, PKI directory)."""

    toml_table: ClassVar[str | None] = "ingest"

    ingest_cert_name: str = Field(default="ingest", description="service certificate NAME.crt/NAME.key in pki_dir")
    ingest_share_group: str = Field(default="ingest", description="MQTT 5 shared-subscription group")
    ingest_batch_max: int = Field(default=5000, ge=1, description="rows per database transaction")
    ingest_flush_interval_s: float = Field(default=0.2, gt=0, description="longest wait before a flush [s]")
    ingest_gap_grace_s: float = Field(default=10.0, ge=0, description="a gap is asked for after this [s]")
    ingest_acceptance_window_s: float = Field(
        # Must exceed the gateways' outbox max age, or back-filled values would be refused as too old.
        default=30 * DAY_S,
        gt=0,
        description="oldest accepted value timestamp, relative to now [s]",
    )
    ingest_future_tolerance_s: float = Field(
        default=600.0, ge=0, description="newest accepted value timestamp ahead of now [s] (R10: 10 min)"
    )
    ingest_max_pending: int = Field(default=100_000, ge=1, description="rows kept in memory while the DB is down")

    def cert_paths(self) -> tuple[Path, Path, Path]:
        """(CA file, certificate file, key file) of the ingest service in ``pki_dir``."""
        name = self.ingest_cert_name
        return self.pki_dir / "ca.crt", self.pki_dir / f"{name}.crt", self.pki_dir / f"{name}.key"
