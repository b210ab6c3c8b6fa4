"""Results through the bot: /results (compute, preview, publish once), «🏆 نتایج», the CLI."""
from __future__ import annotations

import dataclasses

from bot.campaign.config import Results
from bot.campaign.roles import Actor
from messages_fa import buttons as b
from messages_fa import results as t
from tests.conftest import TELEGRAM_ADMIN
from tests.support.journeys import seed_approved, verify


async def _voted(bot):
    """Three proposals in Tajrish (12.5 M each); four voters."""
    await seed_approved(bot, count=3)
    m = bot.telegram
    for n, (user, picks) in enumerate(((2101, (1, 2)), (2102, (1,)), (2103, (1, 3)), (2104, (2,)))):
        await m.send(user, "/start")
        await m.press(user, "تجریش")
        await m.send(user, b.VOTE)
        await verify(bot, user, f"+9891200021{n:02d}")
        for pick in picks:
            await m.press(user, b.vote_button("۱۲۳"[pick - 1], False))
    bot.at("closed")


async def test_results_computed_previewed_published_once_and_shown_to_citizens(bot, config):
    await _voted(bot)
    m = bot.telegram
    await m.send(2101, b.RESULTS)
    assert "هنوز منتشر نشده" in m.last_text(2101)

    await m.send(TELEGRAM_ADMIN, "/results")
    preview = m.last_text(TELEGRAM_ADMIN)
    assert "پیش‌نمایش" in preview and "تجریش: ۳ پروژه" in preview
    await m.press(TELEGRAM_ADMIN, "تجریش")
    block = m.last_text(TELEGRAM_ADMIN)
    assert "۱۲٬۵۰۰٬۰۰۰ تومان" in block and "۳ رأی" in block
    await m.press(TELEGRAM_ADMIN, t.PUBLISH)
    assert m.alerts()[-1] == t.published_done()
    await m.press_data(TELEGRAM_ADMIN, f"rs:p:{(await bot.services.results.published()).id}")
    assert m.alerts()[-1] == t.already_published()
    broadcasts = await bot.services.repos.broadcasts.in_status("scheduled")
    assert [x.announcement for x in broadcasts] == ["results"]

    await m.send(2102, b.RESULTS)
    assert "محلهٔ تجریش" in m.last_text(2102) and t.OTHER_NEIGHBOURHOODS in m.last_text(2102)
    await m.press(2102, "دربند")
    assert "پروژه‌ای برگزیده نشد" in m.last_text(2102)


async def test_results_are_published_only_after_voting_closes_and_counting_every_vote(bot, config):
    """Found by tests/test_fuzz.py (seed 21, 30,000 steps): an admin could publish during voting."""
    await _voted(bot)
    bot.at("voting")
    m = bot.telegram
    await m.send(TELEGRAM_ADMIN, "/results")  # an interim preview is fine, for admins
    await m.press(TELEGRAM_ADMIN, t.PUBLISH)
    closes = bot.services.calendar.when(config.calendar.voting_closes)
    assert m.alerts()[-1] == t.voting_not_closed(closes)
    assert await bot.services.results.published() is None
    assert await bot.services.repos.broadcasts.in_status("scheduled") == []

    bot.at("closed")  # the preview computed during voting misses the votes cast after it
    await m.press(TELEGRAM_ADMIN, t.PUBLISH)
    assert m.alerts()[-1] == t.computed_before_close()
    assert await bot.services.results.published() is None
    await m.press(TELEGRAM_ADMIN, t.RECOMPUTE)
    await m.press(TELEGRAM_ADMIN, t.PUBLISH)
    assert m.alerts()[-1] == t.published_done()
    assert (await bot.services.results.published()).computed_at >= config.calendar.voting_closes


async def test_greedy_skips_what_no_longer_fits(bot, config):
    bot.services.results.config = dataclasses.replace(
        config, results=Results("greedy", 20_000_000, ()))  # room for one 12.5 M project only
    await _voted(bot)
    run = await bot.services.results.compute(Actor.tool("test"), save=False)
    tajrish = [w for w in run.winners if w.neighbourhood_id == "tajrish"]
    assert len(tajrish) == 1 and tajrish[0].votes == 3  # the most voted one
    budget, spent, voters = run.neighbourhoods["tajrish"]
    assert (budget, spent, voters) == (20_000_000, 12_500_000, 4)


async def test_the_pabulib_file_has_anonymous_voters(bot):
    await _voted(bot)
    pb = await bot.services.results.pabulib("tajrish")
    assert pb.startswith("META") and "PROJECTS" in pb and "VOTES" in pb
    citizen_ids = {c.id for c in [await bot.services.repos.citizens.find("telegram", u) for u in (2101, 2102)]}
    votes = pb.split("VOTES", 1)[1].strip().splitlines()[1:]
    assert len(votes) == 4
    assert "2101" not in pb and all(str(i) not in [line.split(";")[0] for line in votes] or i <= 4 for i in citizen_ids)


def test_cli_prints_results_and_writes_pb_files(tmp_path, config):
    import asyncio
    import contextlib
    import io

    from bot.__main__ import main
    from tests.conftest import Bot, ManualClock, phase_moments

    async def seed():
        bot = await Bot(config, ManualClock(phase_moments(config)["proposals"])).start()
        try:
            await _voted(bot)
        finally:
            await bot.stop()
    asyncio.run(seed())
    cfg = tmp_path / "config.toml"
    from tests.conftest import ROOT
    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    text = text.replace('database = "data/manshahrdaram.sqlite3"', f'database = "{config.database}"')
    cfg.write_text(text, encoding="utf-8")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["--config", str(cfg), "results", "--rule", "greedy", "--pb-dir", str(tmp_path)]) == 0
    assert "محلهٔ تجریش" in out.getvalue()
    assert (tmp_path / "tajrish.pb").read_text(encoding="utf-8").startswith("META")


async def test_equal_shares_with_many_voters_and_a_real_budget_finishes(bot, config):
    """Costs in toman, a budget of billions: the Add1 step scales with the share, so the
    completion takes about a hundred reruns, not one per toman."""
    import time

    from bot.campaign.results.election import Election, Project
    from bot.campaign.services.results import _equal_shares
    projects = tuple(Project(f"p{i}", 300_000_000 + 7_000_000 * i) for i in range(30))
    voters = [frozenset({f"p{i % 30}", f"p{(i * 7) % 30}", f"p{(i * 11) % 30}"}) for i in range(200) for _ in range(40)]
    started = time.perf_counter()
    chosen = _equal_shares(Election.from_voters(5_000_000_000, projects, voters))
    assert chosen and time.perf_counter() - started < 10
    assert sum(p.cost for p in projects if p.id in chosen) <= 5_000_000_000
