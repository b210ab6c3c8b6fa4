"""Storage: all SQL of the project, behind one interface.

``storage.interface`` is what the campaign's rules are typed against: one Protocol per repository,
with the invariants each guarantees (imports no driver). ``storage.repositories`` and its siblings
hold the repositories, one SQL text for both engines; they run on ``storage.db`` (SQLite, the
embedded default: connection and migrations) or ``storage.postgres`` (PostgreSQL, when
``[database] url`` names one; migrations in ``storage.migrations_postgres``), chosen by
``storage.engine.open_database``. This package file imports none of them, so reading the interface
loads no database driver.
"""
