"""Storage: all SQL of the project, behind one interface.

``storage.interface`` is what the campaign's rules are typed against: one Protocol per repository,
with the invariants each guarantees (imports no driver). ``storage.db`` (the SQLite connection and
migrations) and ``storage.repositories`` (the SQLite repositories) are the embedded engine behind
it. This package file imports neither, so reading the interface loads no database driver.
"""
