"""The local playground (``python -m bot shell``): scripted sessions against the real bot.

The subprocess tests run the command exactly as an operator would, with a script piped into
stdin, and read the transcript; the in-process test drives run_playground with in-memory streams.
"""
from __future__ import annotations

import asyncio
import dataclasses
import io
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.campaign.config import load_config
from bot.devtools.playground import DEMO_PROPOSALS, run_playground
from messages_fa import buttons as b
from messages_fa import texts

# slow: the playground as the operator runs it, in its own process (`pytest -m "not slow"` skips it).
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config.example.toml"
PROPOSALS_AT = "1405/09/20 10:00"
VOTING_AT = "1405/10/12 10:00"


def tmp_config(tmp_path: Path) -> Path:
    text = EXAMPLE.read_text(encoding="utf-8")
    database = (tmp_path / "data" / "manshahrdaram.sqlite3").as_posix()
    text, count = re.subn(r'(?m)^database = ".*"$', f'database = "{database}"', text)
    assert count == 1
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def shell(tmp_path: Path, *args: str, script: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(tmp_config(tmp_path)), "shell", *args],
        input=script.encode("utf-8"), capture_output=True, cwd=ROOT, timeout=60,
    )


def button_number(names: list[str], name: str) -> str:
    """Inline buttons are numbered row by row, so the number is the position in the config."""
    return str(names.index(name) + 1)


def test_propose_moderate_and_hear_back(tmp_path):
    config = load_config(EXAMPLE)
    tajrish = button_number([n.name for n in config.neighbourhoods], "تجریش")
    green = button_number([c.name for c in config.categories], "فضای سبز و محیط زیست")
    script = "\n".join([
        "/start",
        tajrish,
        "(a)",  # 📝 ارسال پیشنهاد, first on the main menu while proposals are open
        green,
        "کاشت درخت در کوچهٔ ما",
        "در کوچهٔ ما هیچ درختی نیست و تابستان‌ها پیاده‌رو بسیار گرم است.",
        b.CONTINUE,  # a reply-keyboard button typed by its label
        "1",  # ✅ تأیید و ارسال
        ":staff",
        "1",  # ✅ تأیید on the moderation card
        ":user 2",
        ":quit",
    ]) + "\n"
    result = shell(tmp_path, "--at", PROPOSALS_AT, "--demo", script=script)
    out = result.stdout.decode("utf-8")
    assert result.returncode == 0, result.stderr.decode("utf-8", "replace")

    assert "اکنون زمان ثبت پیشنهاد است" in out  # the phase line at start
    assert "Demo: 8 citizens" in out and "تجریش" in out
    assert "> /start" in out and f"[{tajrish}] تجریش" in out
    assert "محلهٔ شما: تجریش ✅" in out
    assert f"keyboard: (a) {b.SEND_PROPOSAL} | (b) {b.MY_PROPOSALS}" in out
    assert "[1] عمرانی   [2] خدمات شهری" in out
    assert "[telegram] bot (edited):" in out  # the category question keeps the choice
    assert "گام ۲ از ۴" in out and "پیش‌نمایش پیشنهاد شما" in out
    assert "[1] ✅ تأیید و ارسال" in out and "کد پیگیری" in out
    assert "user 1 (admin) has 1 new message on telegram" in out

    staff = out[out.index("> :staff"):out.index("> :user 2")]
    assert "پیشنهاد تازه برای بررسی" in staff and "[1] ✅ تأیید   [2] ❌ رد" in staff
    assert "(notice) " + texts.decision_saved() in staff and "✅ تأیید شد — " in staff
    citizen = out[out.index("> :user 2"):]
    assert "«کاشت درخت در کوچهٔ ما»" in citizen and "تأیید شد ✅" in citizen

    assert "\x1b[" not in out  # no colours in a transcript
    assert (tmp_path / "data" / "playground.sqlite3").exists()
    assert not (tmp_path / "data" / "manshahrdaram.sqlite3").exists()  # never the real database


def test_verify_phone_and_vote(tmp_path):
    config = load_config(EXAMPLE)
    tajrish = button_number([n.name for n in config.neighbourhoods], "تجریش")
    script = "\n".join(["/start", tajrish, "(a)", "(a)", "1", ":quit"]) + "\n"
    result = shell(tmp_path, "--at", VOTING_AT, "--demo", script=script)
    out = result.stdout.decode("utf-8")
    assert result.returncode == 0, result.stderr.decode("utf-8", "replace")

    assert "اکنون زمان رأی‌گیری است" in out
    assert f"keyboard: (a) {b.VOTE}" in out
    assert f"(a) {b.SHARE_PHONE} [shares your phone]" in out
    assert "(you shared your own contact: +989120000002)" in out
    assert texts.phone_verified() in out
    assert "پیشنهادهای محلهٔ تجریش" in out and "کاشت درخت چنار در خیابان شهرداری" in out
    assert "[1] ☐ رأی به ۱" in out
    vote = out[out.rindex("> 1"):]
    assert "(notice) رأی شما ثبت شد ✅ (۱ از ۳ رأی)" in vote
    assert "[telegram] bot (edited):" in vote and "رأی‌های شما: ۱ از ۳ رأی" in vote
    assert "[1] ✅ ۱ — پس گرفتن رأی" in vote
    assert "پارکینگ طبقاتی" not in out  # the rejected demo proposal is not on the ballot


def test_bad_at_is_one_line_and_exit_code_2(tmp_path):
    result = shell(tmp_path, "--at", "1405/13/40 10:00")
    assert result.returncode == 2
    err = result.stderr.decode("utf-8").strip().splitlines()
    assert len(err) == 1 and err[0].startswith("--at:") and "Jalali" in err[0]
    assert result.stdout == b""


async def test_in_process_bale_commands_and_seeding_once(tmp_path):
    config = dataclasses.replace(load_config(EXAMPLE), database=tmp_path / "data" / "bot.sqlite3")
    script = "\n".join([
        ":help", ":phase", ":platform bale", "/start", "تجریش", ":say 7", ":sticker",
        ":user 3", "7", ":user", ":bogus", "(z)",
    ]) + "\n"  # and then the end of input
    out = io.StringIO()
    code = await asyncio.wait_for(run_playground(config, at=PROPOSALS_AT, demo=True, stdin=io.StringIO(script),
                                                 stdout=out), 30)
    text = out.getvalue()
    assert code == 0
    assert ":contact-other PHONE" in text and "phase: proposals" in text
    assert "[bale] bot:" in text and "محلهٔ شما: تجریش ✅" in text
    assert "متوجه نشدم" in text  # «7» typed as text by a citizen with a neighbourhood
    assert "(you sent a sticker 👍)" in text
    assert "(now user 3 on bale — a citizen)" in text
    assert "(no message with buttons in this chat: sending «7» as a message)" in text
    assert "محله‌ای با نام «7» پیدا نشد" in text
    assert text.rindex("(now user 2 on bale — a citizen)") > text.index("(now user 3 on bale")
    assert "(!) unknown command :bogus" in text and "(!) the keyboard has buttons (a)–(e)" in text
    assert text.rstrip().endswith("(playground stopped)")

    again = io.StringIO()
    assert await asyncio.wait_for(run_playground(config, at=PROPOSALS_AT, demo=True, stdin=io.StringIO(""),
                                                 stdout=again), 30) == 0
    assert "Demo: already seeded (8 citizens" in again.getvalue()
    with sqlite3.connect(tmp_path / "data" / "playground.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM proposals").fetchone()[0] == len(DEMO_PROPOSALS)
        assert db.execute("SELECT count(*) FROM proposals WHERE status = 'rejected'").fetchone()[0] == 1
    assert not (tmp_path / "data" / "bot.sqlite3").exists()


def test_shell_without_config_toml_runs_on_the_example(tmp_path):
    """The README's playground commands on a fresh checkout, before any config.toml exists."""
    (tmp_path / "config.example.toml").write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "shell", "--at", PROPOSALS_AT, "--demo"],
        input=b"/start\n", capture_output=True, cwd=tmp_path, timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr.decode("utf-8")[-500:]
    assert "config.example.toml" in result.stderr.decode("utf-8")  # it says which file it took
    out = result.stdout.decode("utf-8")
    assert "تجریش" in out  # the neighbourhoods offered after /start
    assert not (tmp_path / "data" / "manshahrdaram.sqlite3").exists()  # never the real database
