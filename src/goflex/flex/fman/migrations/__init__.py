"""Alembic migrations of FMAN's tables (version table ``fman_alembic_version``)."""
