"""``goflex serve``: the platform process (ingest + API) wired to one database, broker and PKI."""

from goflex.serve.platform import Platform, PlatformSettings, ensure_service_identities

__all__ = ["Platform", "PlatformSettings", "ensure_service_identities"]
