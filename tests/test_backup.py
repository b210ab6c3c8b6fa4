"""`python -m bot backup`: a consistent copy while the bot writes, restoring it, and the operator's errors."""
from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import tempfile
import threading
from pathlib import Path

import pytest

from bot.__main__ import main
from messages_fa import buttons as b
from storage.backup import BackupError, backup, check
from storage.db import Database
from tests.conftest import ROOT
from tests.support.e2e import Harness, text_of
from tests.support.e2e_journeys import choose_neighbourhood, write_proposal

TS = "2026-11-26T06:00:00+00:00"


def _commit_one(conn: sqlite3.Connection, n: int) -> None:
    """What one citizen's journey leaves, in one transaction: a citizen, their proposal, their vote."""
    citizen = conn.execute("INSERT INTO citizens (platform, user_id, chat_id, neighbourhood_id, created_at)"
                           " VALUES ('telegram', ?, ?, 'tajrish', ?)", (n, n, TS)).lastrowid
    proposal = conn.execute(
        "INSERT INTO proposals (code, citizen_id, platform, neighbourhood_id, category_id, title, description,"
        " status, created_at) VALUES (?, ?, 'telegram', 'tajrish', 'green', ?, ?, 'approved', ?)",
        (f"T{n:07d}", citizen, f"پیشنهاد {n}", "شرح پیشنهاد برای آزمودن پشتیبان‌گیری. " * 8, TS)).lastrowid
    conn.execute("INSERT INTO votes (citizen_id, proposal_id, created_at) VALUES (?, ?, ?)", (citizen, proposal, TS))


def _snapshot(path: Path) -> tuple[list[int], int, int, list]:
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        users = [row[0] for row in conn.execute("SELECT user_id FROM citizens ORDER BY user_id")]
        orphans = conn.execute("SELECT count(*) FROM proposals p LEFT JOIN citizens c ON c.id = p.citizen_id"
                               " WHERE c.id IS NULL").fetchone()[0]
        votes = conn.execute("SELECT count(*) FROM votes v JOIN proposals p ON p.id = v.proposal_id"
                             " AND p.citizen_id = v.citizen_id").fetchone()[0]
        return users, orphans, votes, conn.execute("PRAGMA foreign_key_check").fetchall()
    finally:
        conn.close()


async def test_backup_while_the_bot_writes_is_one_consistent_moment(tmp_path):
    db = Database(tmp_path / "live.sqlite3")
    await db.open()  # WAL, migrations: the bot's own connection
    committed = 0
    for n in range(1, 301):  # a few hundred pages, so the copy takes many steps
        await db.write(_commit_one, n)
    committed = 300
    wrote = threading.Condition()
    stop = asyncio.Event()

    async def serving_bot() -> None:
        nonlocal committed
        while not stop.is_set():
            await db.write(_commit_one, committed + 1)
            with wrote:
                committed += 1
                wrote.notify_all()
            await asyncio.sleep(0)

    steps: list[int] = []

    def after_each_step(copied: int, total: int) -> None:
        # A stepped copy that is not pinned to one snapshot starts over after every commit of
        # another connection: on a busy bot it would never end.
        assert not steps or copied > steps[-1], f"the copy started over ({steps[-1]} then {copied} pages)"
        # Between two steps the bot commits at least once more: the copy really overlaps writes.
        with wrote:
            seen = committed
            assert wrote.wait_for(lambda: committed > seen, timeout=5), "the bot could not commit during the backup"
        steps.append(copied)

    writer = asyncio.create_task(serving_bot())
    before = committed
    try:
        report = await asyncio.to_thread(backup, db.path, tmp_path / "copy.sqlite3", pages_per_step=4,
                                         progress=after_each_step)
    finally:
        stop.set()
        await writer
    after = committed
    await db.close()

    assert len(steps) > 20
    assert after - before >= len(steps)  # the bot kept committing all along
    users, orphans, votes, broken_keys = _snapshot(tmp_path / "copy.sqlite3")
    # Every transaction committed before the copy began, none that came during it, nothing half.
    assert before <= len(users) < after
    assert users == list(range(1, len(users) + 1))
    assert orphans == 0 and votes == len(users) and broken_keys == []
    assert report.tables["citizens"] == report.tables["proposals"] == report.tables["votes"] == len(users)
    assert report.size == (tmp_path / "copy.sqlite3").stat().st_size and report.pages > 100
    # One self-contained file: no -wal to carry along, nothing left over in the folder.
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("copy")) == ["copy.sqlite3"]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]


@pytest.mark.slow  # the loopback Bot API server and the real polling loop
async def test_restored_backup_serves_what_it_held(tmp_path):
    """Backup while the bot serves, more happens, the bot stops; the operator restores the copy:
    the bot starts on it and the citizen finds their neighbourhood and their first proposal."""
    async with Harness(tmp_path, latency=0.002) as h:
        await h.start()
        citizen = h.person("telegram", 7001)
        await choose_neighbourhood(citizen, "تجریش")
        await write_proposal(citizen, "نیمکت برای پارک", "چند نیمکت در پارک محله گذاشته شود.")
        copy = tmp_path / "backups" / "before-second.sqlite3"
        copy.parent.mkdir()
        report = await asyncio.to_thread(backup, h.config.database, copy)
        assert report.tables["proposals"] == 1 and report.tables["citizens"] >= 1
        await choose_neighbourhood(h.person("telegram", 7002), "دربند")  # after the copy was taken
        assert len(await h.query("SELECT id FROM citizens WHERE user_id IN (7001, 7002)")) == 2
        await h.stop()

        # The README's steps: stop, move the database and its -wal/-shm away, put the copy in place.
        live = Path(h.config.database)
        aside = tmp_path / "aside"
        aside.mkdir()
        for suffix in ("", "-wal", "-shm"):
            if Path(f"{live}{suffix}").exists():
                shutil.move(f"{live}{suffix}", aside)
        shutil.copyfile(copy, live)
        assert main(["backup", "--check", str(live)]) == 0

        await h.start()
        assert await h.query("SELECT title FROM proposals") == [("نیمکت برای پارک",)]
        assert await h.query("SELECT user_id FROM citizens WHERE user_id IN (7001, 7002)") == [(7001,)]
        [mine] = await citizen.tap(b.MY_PROPOSALS)
        assert "نیمکت برای پارک" in text_of(mine)
        [welcome] = await citizen.send("/start")
        assert "تجریش" in text_of(welcome)


# --- the command ----------------------------------------------------------------------------------


def _config(tmp_path: Path, database: Path) -> str:
    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    text = text.replace('database = "data/manshahrdaram.sqlite3"', f'database = "{database.as_posix()}"')
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.fixture
def live(tmp_path) -> Path:
    path = tmp_path / "data" / "live.sqlite3"

    async def make() -> None:
        db = Database(path)
        await db.open()
        for n in range(1, 4):
            await db.write(_commit_one, n)
        await db.close()

    asyncio.run(make())
    return path


def test_cli_writes_a_checked_copy_and_says_what_it_holds(tmp_path, live, capsys):
    config = _config(tmp_path, live)
    out = tmp_path / "copy.sqlite3"
    assert main(["--config", config, "backup", "--out", str(out)]) == 0
    printed = capsys.readouterr()
    first, *tables = printed.out.splitlines()
    assert first.startswith(f"wrote {out}: {out.stat().st_size:,} bytes") and "integrity and foreign keys ok" in first
    counts = dict(line.split() for line in tables)
    assert counts["citizens"] == counts["proposals"] == counts["votes"] == "3"
    assert printed.err == ""
    assert _snapshot(out)[0] == [1, 2, 3]

    assert main(["--config", config, "backup", "--check", str(out)]) == 0
    assert capsys.readouterr().out.startswith(f"checked {out}: ")


def test_cli_refuses_to_overwrite_without_force(tmp_path, live, capsys):
    config = _config(tmp_path, live)
    out = tmp_path / "copy.sqlite3"
    out.write_bytes(b"yesterday's backup")
    assert main(["--config", config, "backup", "--out", str(out)]) == 1
    assert capsys.readouterr().err == f"backup error: {out} already exists (use --force to replace it)\n"
    assert out.read_bytes() == b"yesterday's backup"
    assert main(["--config", config, "backup", "--out", str(out), "--force"]) == 0
    assert _snapshot(out)[0] == [1, 2, 3]


@pytest.mark.parametrize("case", ["no database", "no folder", "a folder", "the database itself", "its -wal"])
def test_cli_names_the_path_at_fault(tmp_path, live, capsys, case):
    database, out = live, tmp_path / "copy.sqlite3"
    expected = {
        "no database": f"database {tmp_path / 'nowhere.sqlite3'} not found (general.database in the config)",
        "no folder": f"folder {tmp_path / 'no' / 'such'} does not exist",
        "a folder": f"{tmp_path} is a folder; give the backup's file name",
        "the database itself": f"{live} is the database itself",
        "its -wal": f"{live}-wal is the database itself",
    }[case]
    if case == "no database":
        database = tmp_path / "nowhere.sqlite3"
    elif case == "no folder":
        out = tmp_path / "no" / "such" / "copy.sqlite3"
    elif case == "a folder":
        out = tmp_path
    elif case == "the database itself":
        out = live
    else:
        out = Path(f"{live}-wal")
    config = _config(tmp_path, database)
    before = sorted(tmp_path.rglob("*"))
    assert main(["--config", config, "backup", "--out", str(out), "--force"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"backup error: {expected}") and err.count("\n") == 1, err
    assert sorted(tmp_path.rglob("*")) == before  # nothing created: no empty database, no half copy


def test_cli_names_a_folder_it_cannot_write(tmp_path, live, capsys, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    if os.name == "posix" and os.geteuid() != 0:
        locked.chmod(0o500)
    else:  # root writes anywhere: the folder refuses the way a read-only one does
        real_mkstemp = tempfile.mkstemp

        def refuse(*args, dir=None, **kwargs):
            if Path(dir) == locked:
                raise PermissionError(13, "Permission denied")
            return real_mkstemp(*args, dir=dir, **kwargs)

        monkeypatch.setattr(tempfile, "mkstemp", refuse)
    try:
        assert main(["--config", _config(tmp_path, live), "backup", "--out", str(locked / "copy.sqlite3")]) == 1
        assert capsys.readouterr().err.startswith(f"backup error: cannot write in folder {locked}: ")
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o700)


def test_a_damaged_copy_fails_the_check_and_a_failed_backup_leaves_no_file(tmp_path, live, capsys):
    damaged = tmp_path / "damaged.sqlite3"
    data = bytearray(live.read_bytes())
    data[4096 * 3: 4096 * 3 + 64] = b"\xff" * 64  # scribble over a table's page
    damaged.write_bytes(bytes(data))
    with pytest.raises(BackupError, match="damaged.sqlite3"):
        check(damaged)
    assert main(["backup", "--check", str(damaged)]) == 1
    assert capsys.readouterr().err.startswith(f"backup error: {damaged}")

    def disk_full(copied: int, total: int) -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        backup(live, tmp_path / "copy.sqlite3", pages_per_step=1, progress=disk_full)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["damaged.sqlite3", "data"]
