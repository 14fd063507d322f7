"""Alembic revisions, oldest first (``vNNNN_<what>.py``)."""
