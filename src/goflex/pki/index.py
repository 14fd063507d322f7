"""The CA's database of issued certificates: a small JSON file (``index.json``) in the CA directory.

One record per certificate ever issued. The file is rewritten atomically on every change; it holds no secret.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from goflex.pki.errors import PkiError
from goflex.pki.files import PUBLIC_MODE, write_atomic
from goflex.pki.names import CertificateKind

INDEX_FILE = "index.json"
_FORMAT = 1


@dataclass(frozen=True)
class CertificateRecord:
    """One issued certificate.

    Attributes:
        name: Common Name.
        kind: Kind of holder.
        serial: Certificate serial number.
        not_before: Start of validity (aware UTC).
        not_after: End of validity (aware UTC).
        revoked_at: When it was revoked (aware UTC), or None.
    """

    name: str
    kind: CertificateKind
    serial: int
    not_before: datetime
    not_after: datetime
    revoked_at: datetime | None = None

    def is_valid_at(self, when: datetime) -> bool:
        """True if the certificate is neither revoked nor outside its validity at ``when``."""
        return self.revoked_at is None and self.not_before <= when < self.not_after


@dataclass(frozen=True)
class CertificateIndex:
    """All certificates a CA has issued, oldest first."""

    records: tuple[CertificateRecord, ...] = ()

    def for_name(self, name: str) -> tuple[CertificateRecord, ...]:
        """Records of ``name``, oldest first."""
        return tuple(r for r in self.records if r.name == name)

    def kind_of(self, name: str) -> CertificateKind | None:
        """The kind a name belongs to (one namespace for all kinds), or None if never issued."""
        return next((r.kind for r in self.records if r.name == name), None)

    def revoked(self) -> tuple[CertificateRecord, ...]:
        """Records that are revoked."""
        return tuple(r for r in self.records if r.revoked_at is not None)

    def add(self, record: CertificateRecord) -> CertificateIndex:
        """A new index with ``record`` appended."""
        return CertificateIndex((*self.records, record))

    def revoke(self, name: str, when: datetime) -> CertificateIndex:
        """A new index in which every unrevoked certificate of ``name`` is revoked at ``when``."""
        return CertificateIndex(
            tuple(replace(r, revoked_at=when) if r.name == name and r.revoked_at is None else r for r in self.records)
        )


def read_index(directory: Path) -> CertificateIndex:
    """Load ``index.json`` (an empty index if the file does not exist yet).

    Raises:
        PkiError: the file is not a goflex certificate index.
    """
    path = directory / INDEX_FILE
    if not path.exists():
        return CertificateIndex()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        records = tuple(
            CertificateRecord(
                name=str(item["name"]),
                kind=CertificateKind(item["kind"]),
                serial=int(item["serial"], 16),
                not_before=datetime.fromisoformat(item["not_before"]),
                not_after=datetime.fromisoformat(item["not_after"]),
                revoked_at=datetime.fromisoformat(item["revoked_at"]) if item.get("revoked_at") else None,
            )
            for item in raw["certificates"]
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise PkiError(f"{path} is not a valid certificate index: {exc}") from exc
    return CertificateIndex(records)


def write_index(directory: Path, index: CertificateIndex) -> None:
    """Atomically replace ``index.json`` with ``index``."""
    doc = {
        "format": _FORMAT,
        "certificates": [
            {
                "name": r.name,
                "kind": r.kind.value,
                "serial": f"{r.serial:x}",
                "not_before": r.not_before.isoformat(),
                "not_after": r.not_after.isoformat(),
                "revoked_at": r.revoked_at.isoformat() if r.revoked_at else None,
            }
            for r in index.records
        ],
    }
    write_atomic(directory / INDEX_FILE, (json.dumps(doc, indent=1) + "\n").encode(), mode=PUBLIC_MODE)
