"""Moving a campaign from SQLite to PostgreSQL mid-way (issue 15, item 6): storage/move.py and
``manshahrdaram move-to-postgres``.

A campaign on SQLite in its voting phase — proposals on the ballot, votes, an ambassador and a
citizen who joined through their link, citizens stopped at several steps of their conversations,
a broadcast half sent — is moved; the bot then opens on PostgreSQL and everyone continues.
"""
from __future__ import annotations

import dataclasses

import pytest

import tests.conftest
from bot.__main__ import main
from bot.campaign.clock import ManualClock
from domain import SENT, DeliveryResult
from messages_fa import buttons as b
from messages_fa.numbers import fa_digits
from storage.move import MoveError, move_to_postgres, row_digest
from tests.conftest import Bot, make_config, phase_moments
from tests.storage import pg
from tests.support.journeys import VOTER, choose_tajrish, seed_approved, sent_now, verify
from tests.test_ambassadors import approved_ambassador

WAITING_PHONE = 2002  # asked to verify their phone before voting
CHOOSING = 2003  # started the bot, has not chosen a neighbourhood yet
JOINED = 2004  # came through the ambassador's link
BROADCAST = "نتیجهٔ نشست محله‌ای روز پنجشنبه اعلام می‌شود."




@pytest.fixture
def config(tmp_path):
    """The campaign starts on its SQLite file, whatever env MANSHAHRDARAM_TEST_DATABASE says."""
    return dataclasses.replace(make_config(tmp_path), database_url=None)


async def campaign_mid_way(config) -> tuple[Bot, ManualClock, set[int], set[int]]:
    """The bot stopped mid-campaign; also the chats the broadcast reached, and those it did not yet."""
    clock = ManualClock(phase_moments(config)["proposals"])
    bot = await Bot(config, clock).start()
    await approved_ambassador(bot)
    payload = await bot.services.ambassadors.link(
        await bot.services.repos.ambassadors.get((await bot.services.repos.citizens.find("telegram", 3001)).id))
    await bot.telegram.send(JOINED, f"/start {payload}")
    await seed_approved(bot)  # four proposals on the ballot; voting is open
    tg = bot.telegram
    await choose_tajrish(bot, VOTER)
    await tg.send(VOTER, b.VOTE)
    await verify(bot)
    for n in (1, 2):
        await tg.press(VOTER, b.vote_button(fa_digits(n), False))
    await choose_tajrish(bot, WAITING_PHONE)
    await tg.send(WAITING_PHONE, b.VOTE)
    assert "شمارهٔ تلفن همراه" in tg.last_text(WAITING_PHONE)
    await tg.send(CHOOSING, "/start")
    # A broadcast to everyone, half sent when the bot stopped.
    draft = await sent_now(bot.services, BROADCAST)
    repo, now = bot.services.repos.broadcasts, clock.now()
    assert await repo.start(draft.id, now) is not None
    due = await repo.next_due(draft.id, "telegram", 100, now)
    half = due[: len(due) // 2]
    assert half and await repo.mark_sending(draft.id, [d.id for d in half])
    await repo.record([DeliveryResult(d.id, SENT) for d in half], now)
    await bot.worker.stop()  # a clean stop releases the broadcast lease
    await bot.stop()
    return bot, clock, {d.chat_id for d in half}, {d.chat_id for d in due[len(half):]}


async def press_old(first: Bot, second: Bot, user: int, label: str) -> None:
    """Press a button on a message the bot sent before the move (the new bot never recorded it)."""
    old = first.telegram.request
    for message in reversed(old.messages(user)):
        for text, data in old.inline_buttons(message):
            if text == label:
                await second.telegram.update(second.telegram.updates.callback(user, message, data))
                return
    raise AssertionError(f"no button {label!r} for {user}")


def broadcast_copies(bot: Bot, chat_id: int) -> int:
    return sum(BROADCAST in (m["text"] or "") for m in bot.telegram.request.messages(chat_id))


async def test_a_campaign_moved_mid_way_continues_on_postgresql(config, pg_url):
    first, clock, reached, not_yet = await campaign_mid_way(config)
    assert not first.errors and not_yet

    report = await move_to_postgres(config.database, pg_url, batch=3, now=clock.now())
    assert report.ok, "\n".join(report.lines())
    tables = {t.name: t for t in report.tables}
    assert tables["votes"].source_rows == 2 and tables["proposals"].source_rows == 4
    assert tables["deliveries"].source_rows >= 2 and tables["audit"].source_rows > 0
    assert tables["citizens"].source_rows == tables["citizens"].target_rows

    second = await Bot(dataclasses.replace(config, database_url=pg_url), clock).start()
    try:
        assert second.db.dialect == "postgresql"
        tg = second.telegram
        # The voter's two votes are there: a third is allowed, a fourth refused.
        await tg.send(VOTER, b.VOTE)
        await tg.press(VOTER, b.vote_button(fa_digits(3), False))
        voter = await second.services.repos.citizens.find("telegram", VOTER)
        assert await second.services.repos.votes.count_by_citizen(voter.id) == 3
        # Asked for a phone on SQLite, they send it on PostgreSQL and get their ballot.
        await verify(second, WAITING_PHONE, "+989121234599")
        assert "۰ از ۳ رأی" in tg.last_with_buttons(WAITING_PHONE)["text"]
        # Choosing a neighbourhood on SQLite, they choose it on PostgreSQL.
        await press_old(first, second, CHOOSING, "تجریش")
        chooser = await second.services.repos.citizens.find("telegram", CHOOSING)
        assert chooser.neighbourhood_id == "tajrish"
        # The ambassador's join is still theirs.
        ambassador = await second.services.repos.ambassadors.get(
            (await second.services.repos.citizens.find("telegram", 3001)).id)
        figures, _ = await second.services.ambassadors.figures(ambassador)
        assert figures.joined == 1
        # New rows get ids after the copied ones (the sequences were moved past them).
        await tg.send(4001, "/start")
        newcomer = await second.services.repos.citizens.find("telegram", 4001)
        assert newcomer.id == tables["citizens"].source_rows + 1
        # The broadcast goes on with the other half; nobody gets it twice.
        await second.broadcast()
        assert all(broadcast_copies(second, chat) == 0 for chat in reached)
        assert all(broadcast_copies(second, chat) == 1 for chat in not_yet)
        progress = await second.services.repos.broadcasts.progress(1)
        assert not any(p.pending or p.sending for p in progress.values())
    finally:
        await second.stop()
    assert not second.errors


async def test_a_database_with_rows_is_refused_in_one_line(config, pg_url, tmp_path):
    import psycopg
    first, clock, _, _ = await campaign_mid_way(config)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE notes (id int)")
        conn.execute("INSERT INTO notes VALUES (1)")
    with pytest.raises(MoveError) as refused:
        await move_to_postgres(config.database, pg_url, now=clock.now())
    assert "not empty (table notes has 1 row(s))" in str(refused.value)
    assert "\n" not in str(refused.value)


async def test_a_running_bot_is_refused(config, pg_url):
    clock = ManualClock(phase_moments(config)["voting"])
    bot = await Bot(config, clock).start()
    try:
        assert await bot.worker.hold_lease()
        with pytest.raises(MoveError, match="seems to be running"):
            await move_to_postgres(config.database, pg_url, now=clock.now())
    finally:
        await bot.stop()


def test_the_checksum_sees_a_changed_value_and_not_the_row_order():
    rows = [(1, "a", None, 2.5), (2, "b", 7, 0.0)]
    total = sum(map(row_digest, rows))
    assert sum(map(row_digest, reversed(rows))) == total
    assert row_digest((1, "a", None, 2.5)) != row_digest((1, "a", 0, 2.5))
    assert row_digest((1, "ab", "c")) != row_digest((1, "a", "bc"))


def test_the_command_moves_and_prints_the_report(config, pg_url, tmp_path, capsys):
    import asyncio

    asyncio.run(campaign_mid_way(config))
    config_file = tmp_path / "config.toml"
    source = (tests.conftest.ROOT / "config.example.toml").read_text(encoding="utf-8")
    config_file.write_text(source.replace('database = "data/manshahrdaram.sqlite3"',
                                          f'database = "{config.database}"'), encoding="utf-8")
    assert main(["--config", str(config_file), "move-to-postgres", "--to", pg_url]) == 0
    out = capsys.readouterr().out
    assert "every table is equal" in out and "votes" in out
    assert main(["--config", str(config_file), "move-to-postgres", "--to", pg_url]) == 1
    assert "is not empty" in capsys.readouterr().err


def _config_file(tmp_path, database: str, url: str | None = None):
    path = tmp_path / ("config-pg.toml" if url else "config-sqlite.toml")
    source = (tests.conftest.ROOT / "config.example.toml").read_text(encoding="utf-8")
    text = source.replace('database = "data/manshahrdaram.sqlite3"', f'database = "{database}"')
    if url:
        marker = '# url = "postgresql://'
        assert marker in text
        text = text.replace(marker, f'url = "{url}"\n{marker}', 1)
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_stats_export_results_and_backup_on_both_engines(config, pg_url, tmp_path, capsys):
    """The same campaign on SQLite and, moved, on PostgreSQL: the commands print the same
    statistics and results; backup writes a pg_dump archive that pg_restore brings back."""
    import asyncio
    import subprocess

    import psycopg

    asyncio.run(campaign_mid_way(config))
    on_sqlite = _config_file(tmp_path, config.database)
    on_pg = _config_file(tmp_path, config.database, pg_url)
    assert main(["--config", on_sqlite, "move-to-postgres", "--to", pg_url]) == 0
    capsys.readouterr()

    outputs = {}
    for name, config_file in (("sqlite", on_sqlite), ("postgresql", on_pg)):
        assert main(["--config", config_file, "stats"]) == 0
        stats = capsys.readouterr().out
        assert main(["--config", config_file, "results"]) == 0
        results = capsys.readouterr().out
        out = tmp_path / f"export-{name}.xlsx"
        assert main(["--config", config_file, "export", "--out", str(out)]) == 0
        capsys.readouterr()
        csvs = {p.name.removeprefix(f"export-{name}"): p.read_text(encoding="utf-8")
                for p in sorted(tmp_path.glob(f"export-{name}-*.csv"))}
        # The report's own time (its first line) differs by the seconds between the two runs.
        outputs[name] = (stats.splitlines()[1:], results, csvs)
    assert outputs["sqlite"] == outputs["postgresql"]
    assert outputs["postgresql"][2], "the export wrote its CSVs"

    dump = tmp_path / "campaign.dump"
    assert main(["--config", on_pg, "backup", "--out", str(dump)]) == 0
    written = capsys.readouterr().out
    assert "pg_dump" in written and "votes" in written
    assert main(["backup", "--check", str(dump)]) == 0
    assert "votes" in capsys.readouterr().out
    # Restored (into the schema it came from, dropped first), the votes are all there.
    schema = pg_url.rsplit("%3D", 1)[1]
    with psycopg.connect(pg.server_url(), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    subprocess.run(["pg_restore", "--dbname", pg.server_url(), str(dump)], check=True, capture_output=True)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM votes").fetchone()[0] == 2


def test_backup_without_pg_dump_says_so_in_one_line(config, pg_url, tmp_path, capsys, monkeypatch):
    on_pg = _config_file(tmp_path, config.database, pg_url)
    monkeypatch.setenv("PATH", str(tmp_path))  # no client programs here
    assert main(["--config", on_pg, "backup", "--out", str(tmp_path / "x.dump")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("backup error: pg_dump not found on PATH") and "\n" not in err


def _keys_and_indexes(url: str) -> tuple[list, list]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        keys = conn.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE connamespace = current_schema()::regnamespace ORDER BY 1, 2").fetchall()
        indexes = conn.execute("SELECT tablename, indexname, indexdef FROM pg_indexes "
                               "WHERE schemaname = current_schema() ORDER BY 1, 2").fetchall()
    # The schema's own name is in each index's definition.
    schema = url.rsplit("%3D", 1)[1]
    return keys, [(t, n, d.replace(schema, "S")) for t, n, d in indexes]


async def test_the_keys_and_indexes_dropped_for_the_copy_are_all_made_again(config, pg_url):
    """The copy drops the foreign keys and the indexes no key owns, and makes them again from their
    own definitions: the moved schema has exactly those of a freshly migrated one."""
    from storage.postgres import PgDatabase
    from tests.storage import pg
    first, clock, _, _ = await campaign_mid_way(config)
    report = await move_to_postgres(config.database, pg_url, now=clock.now())
    assert report.ok
    name, fresh = pg.new_schema()
    try:
        db = PgDatabase(fresh, pool_size=1)
        await db.open()
        await db.close()
        moved_keys, moved_indexes = _keys_and_indexes(pg_url)
        fresh_keys, fresh_indexes = _keys_and_indexes(fresh)
    finally:
        pg.drop_schema(name)
    assert any(kind.startswith("FOREIGN KEY") for _, _, kind in moved_keys)
    assert moved_keys == fresh_keys
    assert moved_indexes == fresh_indexes
