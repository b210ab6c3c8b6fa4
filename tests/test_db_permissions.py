"""The live database holds ambassadors' phone numbers: only the bot's own user may read it.

Checked on the real files SQLite writes (the database, its -wal and -shm), created under the
usual umask 022 that made them 0644 before, and the warning for a database left readable.
"""
from __future__ import annotations

import contextlib
import logging
import os
import stat

import pytest

from storage.db import Database


@contextlib.contextmanager
def umask(mask: int):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


async def test_a_new_database_its_wal_and_shm_and_its_folder_are_the_owners_only(tmp_path, caplog):
    path = tmp_path / "deploy" / "data" / "bot.sqlite3"
    db = Database(path)
    with umask(0o022):
        await db.open()
    try:
        # A write, so the -wal holds frames and the -shm is in use: the files as they are in service.
        await db.write(lambda conn: conn.execute("CREATE TABLE probe (x)"))
        files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
        assert all(f.exists() for f in files)
        assert {f.name: oct(mode(f)) for f in files} == {f.name: "0o600" for f in files}
        assert oct(mode(path.parent)) == "0o700"
    finally:
        await db.close()
    again = Database(path)
    with umask(0o022):
        await again.open()  # reopening a private database: nothing to warn about
    await again.close()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text


@pytest.mark.parametrize("exposed", ["file", "folder"])
async def test_an_existing_database_readable_by_others_is_named_in_one_warning(tmp_path, caplog, exposed):
    path = tmp_path / "data" / "bot.sqlite3"
    first = Database(path)
    await first.open()
    await first.close()
    if exposed == "file":
        path.chmod(0o644)
    else:
        path.parent.chmod(0o755)
    caplog.set_level(logging.INFO)
    db = Database(path)
    await db.open()
    await db.close()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, caplog.text
    line = warnings[0].getMessage()
    assert str(path) in line and "readable by other" in line
    # The bot warns; it does not change what the operator set.
    assert oct(mode(path)) == ("0o644" if exposed == "file" else "0o600")
