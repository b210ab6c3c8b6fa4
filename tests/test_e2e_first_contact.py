"""End to end, through the running bot and the loopback Bot API server: at start each messenger's bot
gets its profile (description, short description) from config, the citizens' command menu has no
/whoami and each admin's own menu has it; the first /start names who runs the plan."""
from __future__ import annotations

import json

import pytest

from messages_fa import texts
from tests.conftest import BALE_ADMIN, TELEGRAM_ADMIN
from tests.support.e2e import TOKENS, containing
from tests.support.e2e_journeys import assert_clean_logs, running

pytestmark = pytest.mark.slow


@pytest.fixture
async def e2e(tmp_path, caplog):
    async with running(tmp_path, caplog) as harness:
        yield harness


async def test_profile_menus_and_first_contact(e2e, caplog):
    profile = e2e.config.profile
    for name, admin in (("telegram", TELEGRAM_ADMIN), ("bale", BALE_ADMIN)):
        bot = e2e.state.bot(TOKENS[name])
        assert bot.settings.get("description") == profile.description
        assert bot.settings.get("short_description") == profile.short_description
        menus = {json.loads(key.split("|")[0]).get("chat_id"): [c["command"] for c in commands]
                 for key, commands in bot.commands.items()}
        assert menus[None] == [command for command, _ in texts.COMMANDS] and "whoami" not in menus[None]
        assert "whoami" in menus[admin]
    citizen = e2e.person("bale", 5151)
    await citizen.send("/start")
    await citizen.wait_text(texts.ORGANISER)
    assert containing(texts.ORGANISER)(citizen.messages())
    assert_clean_logs(caplog)


@pytest.fixture
async def e2e_site(tmp_path, caplog, monkeypatch):
    import dataclasses

    from bot.campaign.config import Site
    from tests.support import e2e as harness_module
    made = harness_module.make_config
    monkeypatch.setattr(harness_module, "make_config", lambda path, **kw: dataclasses.replace(
        made(path, **kw), site=Site("https://example.ir/results", path / "site")))
    async with running(tmp_path, caplog) as harness:
        yield harness


async def test_publishing_results_writes_the_public_pages_and_links_them(e2e_site, caplog):
    from messages_fa import buttons as b
    from messages_fa import results as rt
    from tests.support.e2e_journeys import approved_proposal, choose_neighbourhood

    e2e = e2e_site
    await approved_proposal(e2e)
    e2e.at("voting")
    voter = e2e.person("bale", 3201)
    await choose_neighbourhood(voter, "تجریش")
    await voter.tap(b.VOTE)
    await voter.tap(b.SHARE_PHONE, count=2)
    await voter.press(b.vote_button("۱", False), until=containing("۱ از ۳"))
    e2e.at("closed")
    admin = e2e.person("telegram", TELEGRAM_ADMIN)
    await admin.send("/results")
    await admin.press(rt.PUBLISH, until=lambda msgs: True)
    folder = e2e.config.site.dir
    # Written after the press is answered (the charts take seconds), before the announcement goes out.
    await e2e.until(lambda: (folder / "neighbourhoods" / "tajrish.html").is_file()
                    and containing("https://example.ir/results/")(voter.messages()), timeout=60,
                    what="the public pages, then the announcement linking to them")
    page = (folder / "neighbourhoods" / "tajrish.html").read_text(encoding="utf-8")
    assert "نیمکت برای ایستگاه اتوبوس" in page and 'dir="rtl"' in page and (folder / "pb" / "tajrish.pb").is_file()
    await voter.send(b.RESULTS)  # typed as the menu button reads (the keyboard shown may be older)
    await voter.wait_text("https://example.ir/results/neighbourhoods/tajrish.html")
    assert_clean_logs(caplog)
