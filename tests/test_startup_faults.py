"""`manshahrdaram run` as the operator starts it, on a database or a Bot API it cannot use.

Each fault ends the process with one JSON log line at ERROR naming the file or URL at fault (no
traceback) and a non-zero exit; `check-config` names the database faults before `run` is tried.
Run as root (CI), the process gives up the capability to ignore file modes, as a service's own
user would not have it.
"""
from __future__ import annotations

import ctypes
import json
import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from storage.migrations import MIGRATIONS
from tests.conftest import ROOT

# slow: each test runs the bot's command line as its own process (`pytest -m "not slow"` skips it).
pytestmark = pytest.mark.slow

TOKEN = "123456:operator-test-token"
PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 24, 1, 2


def _as_a_service_user() -> None:
    """In the child before exec: root keeps its uid but no longer reads or writes past file modes."""
    if os.geteuid() == 0:
        libc = ctypes.CDLL(None, use_errno=True)
        for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
            if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens there once the socket is closed


def _config(tmp_path: Path, database: Path, base_url: str) -> Path:
    example = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    old_token = ('[telegram]\n# From @BotFather. Leave empty to not serve Telegram. With no token at all the bot '
                 'starts the\n# local playground instead.\ntoken = ""')
    assert old_token in example, "config.example.toml changed shape; update this test"
    config = (example
              .replace('phone_hash_secret = "change-me-to-a-long-random-secret"',
                       'phone_hash_secret = "a-real-looking-secret-0123456789"')
              .replace('database = "data/manshahrdaram.sqlite3"', f'database = "{database}"')
              .replace(old_token, f'[telegram]\ntoken = "{TOKEN}"\nbase_url = "{base_url}"\n'
                                  f'base_file_url = "{base_url.replace("/bot", "/file/bot")}"'))
    path = tmp_path / "config.toml"
    path.write_text(config, encoding="utf-8")
    return path


def _cli(config: Path, *command: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", "--config", str(config), *command], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, preexec_fn=_as_a_service_user)


def _folder(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "bot.sqlite3"
    path.mkdir(parents=True)
    return path


def _unwritable_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o500)
    return folder / "bot.sqlite3"


def _read_only_file(tmp_path: Path) -> Path:
    path = tmp_path / "bot.sqlite3"
    sqlite3.connect(path).close()
    path.write_bytes(b"")  # an empty file is an empty database
    path.chmod(0o400)
    return path


def _not_sqlite(tmp_path: Path) -> Path:
    path = tmp_path / "bot.sqlite3"
    path.write_text("[general]\nthis is a config file, not a database\n" * 200)
    return path


def _newer_schema(tmp_path: Path) -> Path:
    path = tmp_path / "bot.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    return path


DATABASE_FAULTS = {
    "a folder": (_folder, "is a folder"),
    "an unwritable folder": (_unwritable_folder, "cannot"),
    "a read-only file": (_read_only_file, "read-only"),
    "not SQLite": (_not_sqlite, "not an SQLite database"),
    "a newer schema": (_newer_schema, "newer"),
}


def _one_error_line(stderr: str) -> dict:
    assert "Traceback" not in stderr, stderr
    events = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    errors = [e for e in events if e["level"] in ("ERROR", "CRITICAL")]
    assert len(errors) == 1, stderr
    assert "exc" not in errors[0], errors[0]
    return errors[0]


@pytest.fixture(autouse=True)
def _unlock(tmp_path):
    yield
    for path in tmp_path.rglob("*"):  # pytest removes tmp_path later; a 0500 folder would refuse it as a user
        if path.is_dir():
            path.chmod(0o700)


@pytest.mark.parametrize("fault", list(DATABASE_FAULTS))
def test_run_on_a_database_it_cannot_use_ends_with_one_line_naming_the_file(tmp_path, fault):
    make, words = DATABASE_FAULTS[fault]
    database = make(tmp_path)
    config = _config(tmp_path, database, f"http://127.0.0.1:{_closed_port()}/bot")
    done = _cli(config, "run")
    assert done.returncode not in (0, None), done.stderr
    error = _one_error_line(done.stderr)
    assert str(database) in error["message"] and words in error["message"], error
    assert TOKEN not in done.stderr


@pytest.mark.parametrize("fault", list(DATABASE_FAULTS))
def test_check_config_names_a_database_it_cannot_use(tmp_path, fault):
    make, words = DATABASE_FAULTS[fault]
    database = make(tmp_path)
    config = _config(tmp_path, database, "https://api.telegram.org/bot")
    before = sorted(tmp_path.rglob("*"))
    done = _cli(config, "check-config")
    assert done.returncode not in (0, None), (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and str(database) in lines[0] and words in lines[0], done.stderr
    assert sorted(tmp_path.rglob("*")) == before  # checking creates nothing


def test_check_config_accepts_a_database_that_is_not_there_yet(tmp_path):
    database = tmp_path / "data" / "bot.sqlite3"
    done = _cli(_config(tmp_path, database, "https://api.telegram.org/bot"), "check-config")
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "data").exists()


def test_run_with_a_bot_api_it_cannot_reach_ends_with_one_line_naming_the_url(tmp_path):
    url = f"http://127.0.0.1:{_closed_port()}/bot"
    done = _cli(_config(tmp_path, tmp_path / "data" / "bot.sqlite3", url), "run")
    assert done.returncode not in (0, None), done.stderr
    error = _one_error_line(done.stderr)
    assert url in error["message"] and "telegram" in error["message"], error
    assert TOKEN not in done.stderr and "operator-test-token" not in done.stderr
