"""The ingest service: stores what endpoints publish (issue 2 section 5).

Usage::

    service = IngestService(db=open_database(url), broker="mqtts://broker:8883",
                            ca_file="pki/ca.crt", cert_file="pki/ingest.crt", key_file="pki/ingest.key")
    async with service:          # subscribed when this returns
        service.health()         # Health(status="ok", detail=...)
        service.metrics_text()   # Prometheus exposition of this instance's registry

Pure parts: :mod:`goflex.ingest.ledger` (sequence numbers and gaps) and :mod:`goflex.ingest.validation`.
"""

from goflex.ingest.ledger import Ledger
from goflex.ingest.metrics import IngestMetrics
from goflex.ingest.service import Health, HealthStatus, IngestService
from goflex.ingest.settings import IngestSettings
from goflex.ingest.validation import Validator

__all__ = ["Health", "HealthStatus", "IngestMetrics", "IngestService", "IngestSettings", "Ledger", "Validator"]
