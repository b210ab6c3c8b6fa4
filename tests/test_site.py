"""The public results pages (bot/outputs/site.py): written when /results publishes, by the CLI, with
every ballot proposal, the rule, the charts and the .pb files; no personal data; the links in the bot's
messages; recompute.py gives the published winners back from the .pb files with pabutools."""
from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.campaign.config import Site
from messages_fa import buttons as b
from messages_fa import results as t
from messages_fa import site as st
from messages_fa.numbers import fa_digits
from tests.conftest import TELEGRAM_ADMIN, make_config
from tests.support.journeys import seed_approved, verify
from tests.test_ambassadors import AMB, approved_ambassador

URL = "https://manshahrdaram.example.ir/results"
VOTERS = {2101: (1, 2), 2102: (1,), 2103: (1, 3), 2104: (2,)}
NAMES = {2101: ("Zahra", "zahra_tajrish"), 2102: ("Reza", "reza1360"), 2103: ("فرنازه", "farnaz_k"),
         2104: ("کوروشی", "kourosh_d1")}
PHONE = "+98912000{:04d}"


@pytest.fixture
def config(tmp_path: Path):
    base = make_config(tmp_path)
    return dataclasses.replace(base, site=Site(URL, tmp_path / "site"))


async def voted_and_published(bot) -> Path:
    """Three proposals in Tajrish, four named voters with phones, an ambassador; published."""
    await seed_approved(bot, count=3)
    await approved_ambassador(bot)  # «مریم احمدی», +989121110000: never on a page
    m = bot.telegram
    for user, picks in VOTERS.items():
        first, username = NAMES[user]
        m.updates.set_user(user, first_name=first, last_name="Ahmadi", username=username)
        await m.send(user, "/start")
        await m.press(user, "تجریش")
        await m.send(user, b.VOTE)
        await verify(bot, user, PHONE.format(user))
        for pick in picks:
            await m.press(user, b.vote_button("۱۲۳"[pick - 1], False))
    bot.at("closed")
    await m.send(TELEGRAM_ADMIN, "/results")
    await m.press(TELEGRAM_ADMIN, t.PUBLISH)
    assert m.alerts()[-1] == t.published_done()
    return bot.config.site.dir


def site_files(folder: Path) -> dict[str, Path]:
    return {p.relative_to(folder).as_posix(): p for p in folder.rglob("*") if p.is_file()}


async def test_publishing_writes_the_pages_and_the_messages_link_to_them(bot):
    folder = await voted_and_published(bot)
    files = site_files(folder)
    hoods = [n.id for n in bot.config.neighbourhoods]
    assert {"index.html", "recompute.py", "charts/neighbourhoods.png", "charts/days.png",
            "fonts/NotoSansArabic.ttf"} <= files.keys()
    assert {f"neighbourhoods/{h}.html" for h in hoods} | {f"pb/{h}.pb" for h in hoods} <= files.keys()
    assert not [name for name in files if name.endswith(".tmp")]

    page = files["neighbourhoods/tajrish.html"].read_text(encoding="utf-8")
    assert '<html lang="fa" dir="rtl">' in page and 'name="viewport"' in page
    run = await bot.services.results.published()
    ballots = await bot.services.repos.results.ballots("tajrish")
    assert len(ballots.projects) == 3
    for p in ballots.projects:  # every proposal on the ballot, with its cost and votes, won or not
        assert st.proposal_facts(p.code, p.cost, p.votes, bot.config.money_unit) in page
        assert p.title in page
    assert page.count(f'<span class="badge">{st.WON}</span>') == sum(1 for w in run.winners if w.neighbourhood_id == "tajrish")
    budget, spent, voters = run.neighbourhoods["tajrish"]
    for label, value in st.summary(budget, spent, voters, 3, bot.config.money_unit):
        assert f"<dt>{label}</dt><dd>{value}</dd>" in page
    assert st.rule_line(run.rule) in page and 'href="../pb/tajrish.pb"' in page and "pabutools" in page
    assert "<script" not in page and "http" not in page.replace(URL, "")  # nothing fetched from elsewhere
    index = files["index.html"].read_text(encoding="utf-8")
    assert all(f'href="neighbourhoods/{h}.html"' in index for h in hoods)
    assert 'src="charts/neighbourhoods.png"' in index and 'src="charts/days.png"' in index

    # The announcement to everyone and a citizen's own results link to the pages.
    announcement = (await bot.services.repos.broadcasts.in_status("scheduled"))[0]
    assert announcement.text == t.announcement(f"{URL}/") and f"{URL}/" in announcement.text
    m = bot.telegram
    await m.send(2102, b.RESULTS)
    assert t.site_link(f"{URL}/neighbourhoods/tajrish.html") in m.last_text(2102)


async def test_no_personal_data_on_any_page(bot):
    folder = await voted_and_published(bot)
    words = {"مریم احمدی", "Ahmadi", "User1500", "User3001"} | {w for user in VOTERS for w in NAMES[user]}
    numbers = {"989121110000", "9121110000", str(TELEGRAM_ADMIN), str(AMB)}  # phones, messenger ids
    for user in VOTERS:
        numbers |= {str(user), PHONE.format(user)[1:], PHONE.format(user)[3:]}
    numbers |= {fa_digits(n) for n in numbers}
    for name, path in site_files(folder).items():
        if name.endswith((".png", ".ttf")):
            continue
        text = re.sub(r"<style>.*?</style>", "", path.read_text(encoding="utf-8"), flags=re.S)  # font-weight 900
        found = sorted(w for w in words if w in text)
        found += sorted(n for n in numbers if re.search(rf"(?<![\d۰-۹]){n}(?![\d۰-۹])", text))
        assert not found, f"{name} shows {found}"
    pb = (folder / "pb" / "tajrish.pb").read_text(encoding="utf-8")
    assert [line.split(";")[0] for line in pb.split("VOTES\n")[1].splitlines()[1:]] == ["1", "2", "3", "4"]


async def test_recompute_script_gives_the_published_winners_from_the_pb_files(bot):
    pytest.importorskip("pabutools")
    folder = await voted_and_published(bot)
    run = await bot.services.results.published()
    for hood in ("tajrish", "darband"):
        done = subprocess.run([sys.executable, str(folder / "recompute.py"), str(folder / "pb" / f"{hood}.pb")],
                              capture_output=True, text=True, timeout=120, check=True)
        *codes, money = done.stdout.splitlines()
        assert codes == [w.code for w in run.winners if w.neighbourhood_id == hood]
        budget, spent, _ = run.neighbourhoods[hood]
        assert money == f"spent {spent} of {budget}, left {budget - spent}"


async def test_a_site_that_cannot_be_written_is_said_to_the_admin_and_publishing_stands(bot):
    bot.config.site.dir.write_text("a file where the folder should be")
    await voted_and_published(bot)  # published (the alert), then the admin is told the pages failed
    assert bot.telegram.last_text(TELEGRAM_ADMIN) == t.site_failed(str(bot.config.site.dir))
    assert await bot.services.results.published() is not None


def test_cli_publish_site_writes_the_same_pages(tmp_path, config):
    import asyncio
    import contextlib
    import io

    from bot.__main__ import main
    from tests.conftest import ROOT, Bot, ManualClock, phase_moments

    cfg = tmp_path / "config.toml"
    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    text = text.replace('database = "data/manshahrdaram.sqlite3"', f'database = "{config.database}"')
    if config.database_url:  # the PostgreSQL pass: the same schema the bot below writes
        text = text.replace('# url = "postgresql://manshahrdaram@127.0.0.1:5432/manshahrdaram"',
                            f'url = "{config.database_url}"')
    cfg.write_text(text, encoding="utf-8")
    out = tmp_path / "public"

    async def seed(publish: bool):
        bot = await Bot(config, ManualClock(phase_moments(config)["proposals"])).start()
        try:
            if publish:
                await voted_and_published(bot)
        finally:
            await bot.stop()
    asyncio.run(seed(False))
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert main(["--config", str(cfg), "publish-site", "--out", str(out)]) == 1
    assert "no results are published yet" in err.getvalue() and not out.exists()

    asyncio.run(seed(True))
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["--config", str(cfg), "publish-site", "--out", str(out)]) == 0
    assert f"into {out}" in printed.getvalue()
    by_bot, by_cli = site_files(config.site.dir), site_files(out)
    assert by_bot.keys() == by_cli.keys()
    for name in by_bot:
        if not name.startswith("charts/"):  # the charts carry the moment they were drawn
            assert by_bot[name].read_bytes() == by_cli[name].read_bytes(), name


def test_the_playground_publishes_into_pages_of_its_own(config):
    from types import SimpleNamespace

    from bot.devtools.playground import playground_config
    server = SimpleNamespace(bot_base_url="http://127.0.0.1:1/bot", file_base_url="http://127.0.0.1:1/file/bot")
    played = playground_config(config, server)
    assert played.site.url == "" and played.site.dir == config.database.parent / "playground-site"
    assert played.site.dir != config.site.dir


def test_citizens_text_is_escaped_and_an_empty_ballot_says_so():
    from bot.outputs.site import Entry, HoodPage, SiteData, district_page, hood_page
    hood = HoodPage("tajrish", "تجریش", 100, 40, 3,
                    (Entry("17", '<script>alert("x")</script> & «پارک»', 40, 3, 1),), "META\n")
    empty = HoodPage("darband", "دربند", 100, 0, 0, (), "META\n")
    data = SiteData("greedy", "شنبه ۲۰ دی ۱۴۰۵، ساعت ۲۲:۰۰", "تومان", (hood, empty), {})
    page = hood_page(data, hood)
    assert "<script>" not in page and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; «پارک»" in page
    assert st.NO_PROPOSALS in hood_page(data, empty) and st.NO_PROPOSALS not in page
    district = district_page(data)
    assert st.district_totals(3, 1, 40, 200, "تومان") in district and "<figure>" not in district
