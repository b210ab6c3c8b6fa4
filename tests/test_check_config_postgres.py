"""check-config with [database] url (issue 15, operations): the PostgreSQL schema version in the
OK line, and one precise line, naming the key, when the server cannot be reached or a newer
release wrote the schema. Nothing is created or changed by checking."""
from __future__ import annotations

import socket

import psycopg

from bot.__main__ import main
from storage.engine import open_database
from storage.migrations_postgres import MIGRATIONS
from storage.postgres import display_url
from tests.conftest import ROOT

EXAMPLE_TEXT = (ROOT / "config.example.toml").read_text(encoding="utf-8")


def _config(tmp_path, url: str):
    path = tmp_path / "config.toml"
    text = EXAMPLE_TEXT.replace('# url = "postgresql://manshahrdaram@127.0.0.1:5432/manshahrdaram"', f'url = "{url}"')
    assert f'url = "{url}"' in text
    path.write_text(text, encoding="utf-8")
    return path


def _tables(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()").fetchone()[0]


def test_an_empty_database_is_fine_and_left_empty(tmp_path, capsys, pg_url):
    path = _config(tmp_path, pg_url)
    assert main(["check-config", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.endswith(f", database: PostgreSQL {display_url(pg_url)}, empty (the schema, version {len(MIGRATIONS)}, "
                        "is made at start)\n"), out
    assert _tables(pg_url) == 0


async def test_the_schema_version_is_reported(tmp_path, capsys, pg_url):
    db = open_database(pg_url)
    await db.open()  # migrates
    await db.close()
    path = _config(tmp_path, pg_url)
    assert main(["check-config", str(path)]) == 0
    assert capsys.readouterr().out.endswith(f"schema version {len(MIGRATIONS)}\n")
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("UPDATE schema_version SET version = 2")
    assert main(["check-config", str(path)]) == 0
    assert capsys.readouterr().out.endswith(f"schema version 2 (migrated to {len(MIGRATIONS)} at start)\n")


async def test_a_schema_newer_than_the_program_is_one_line(tmp_path, capsys, pg_url):
    db = open_database(pg_url)
    await db.open()
    await db.close()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("UPDATE schema_version SET version = %s", (len(MIGRATIONS) + 3,))
    path = _config(tmp_path, pg_url)
    assert main(["check-config", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (f"config error: database.url: {display_url(pg_url)} has schema version {len(MIGRATIONS) + 3}, "
                   f"newer than this program's {len(MIGRATIONS)}: a newer release wrote it; run that release, or "
                   "restore a backup taken before the upgrade\n")


def test_an_unreachable_server_is_one_line_without_the_password(tmp_path, capsys):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://bot:hunter2@127.0.0.1:{port}/campaign"
    path = _config(tmp_path, url)
    assert main(["check-config", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1, err
    assert err.startswith(f"config error: database.url: postgresql://bot:***@127.0.0.1:{port}/campaign: ")
    assert "refused" in err.lower() and "hunter2" not in err


def test_a_database_that_does_not_exist_is_named(tmp_path, capsys, pg_url):
    url = pg_url.split("?")[0].rsplit("/", 1)[0] + "/no_such_campaign_db"
    path = _config(tmp_path, url)
    assert main(["check-config", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and 'database "no_such_campaign_db" does not exist' in err, err
