"""Alembic migrations of the goflex schema, run by :meth:`goflex.store.database.Database.migrate`.

To add a revision, write ``versions/vNNNN_<what>.py`` by hand (copy the newest one: set ``revision`` and
``down_revision``), or generate a draft with Alembic against a scratch database::

    python -c "from alembic import command; from goflex.store.database import alembic_config; \
        c = alembic_config(); c.set_main_option('sqlalchemy.url', 'sqlite:////tmp/draft.db'); \
        command.revision(c, message='what', autogenerate=True)"

then make sure the PostgreSQL branch (partitioned ``history``) is right, and keep :mod:`goflex.store.schema` in
step (``tests/unit/store/test_database.py`` compares them).
"""
