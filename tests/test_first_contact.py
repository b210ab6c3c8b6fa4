"""First contact and trust (issue 16 §5): the bot's profile from config on both messengers, the
office's support line in /help and wherever the bot says «contact the office», /whoami only in staff menus."""
from __future__ import annotations

import dataclasses
import json

import pytest

from bot.campaign.config import ConfigError, Profile, parse_config
from messages_fa import ambassadors as amb
from messages_fa import texts
from tests.conftest import BALE_ADMIN, ROOT, STAFF_CHAT, TELEGRAM_ADMIN, Bot, ManualClock, make_config, phase_moments
from tests.test_ambassadors import AMB, _id, apply

SUPPORT = "۰۲۱-۲۲۷۱۲۳۴۵، سرای محلهٔ تجریش — @manshahrdaram_help"
USER = 4242


@pytest.fixture
def config(tmp_path):
    return dataclasses.replace(make_config(tmp_path), profile=Profile(
        description="ربات طرح «من شهردارم» از شهرداری منطقهٔ ۱ تهران.", short_description="پیشنهاد و رأی برای محله",
        support=SUPPORT))


async def test_profile_is_set_at_start_on_both_messengers(config):
    running = await Bot(config, ManualClock(phase_moments(config)["proposals"])).start()
    try:
        for messenger in (running.telegram, running.bale):
            description = messenger.request.calls_to("setMyDescription")
            short = messenger.request.calls_to("setMyShortDescription")
            assert [c.params["description"] for c in description] == [config.profile.description]
            assert [c.params["short_description"] for c in short] == [config.profile.short_description]
    finally:
        await running.stop()


async def test_a_messenger_without_the_profile_methods_is_skipped_quietly(config, caplog):
    def bale_without_profile(platform, request):
        if platform == "bale":  # Bale may answer 404 (PTB: InvalidToken) for methods it lacks
            for method in ("setMyDescription", "setMyShortDescription"):
                request.fail(method, 404, "Not Found", times=None)

    running = await Bot(config, ManualClock(phase_moments(config)["proposals"]), bale_without_profile).start()
    try:
        assert running.bale.request.calls_to("setMyDescription")[0].status == 404
        assert running.bale.request.calls_to("setMyCommands")  # the rest of the start went on
        await running.bale.send(USER, "/start")
        assert "من شهردارم" in running.bale.last_text(USER) and texts.ORGANISER in running.bale.last_text(USER)
        assert not [r for r in caplog.records if r.levelname in ("WARNING", "ERROR") and "Description" in r.getMessage()]
    finally:
        await running.stop()


def test_the_profile_keys_are_checked():
    import tomllib
    root = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    assert parse_config(dict(root)).profile == Profile()  # built-in texts name the organiser
    assert texts.ORGANISER in Profile().description and texts.ORGANISER in Profile().short_description
    with pytest.raises(ConfigError, match=r"^profile.short_description: is 121 characters; the messengers take at most 120"):
        parse_config({**root, "profile": {"short_description": "ا" * 121}})
    with pytest.raises(ConfigError, match=r"^profile.description: is empty"):
        parse_config({**root, "profile": {"description": "  "}})
    with pytest.raises(ConfigError, match=r"^profile.phone: is not a known setting"):
        parse_config({**root, "profile": {"phone": "021"}})
    with pytest.raises(ConfigError, match=r"^site.url: \"ftp://x\" is not a web address"):
        parse_config({**root, "site": {"url": "ftp://x"}})
    assert parse_config({**root, "site": {"url": "https://example.ir/results/"}}).site.url == "https://example.ir/results"


async def test_help_shows_the_support_line_and_no_whoami(bot, config):
    for messenger in (bot.telegram, bot.bale):
        await messenger.send(USER, "/help")
        shown = messenger.last_text(USER)
        assert SUPPORT in shown and "/whoami" not in shown and "/help" in shown
    await bot.telegram.send(USER, "/whoami")  # still answers: staff send it before they are staff
    assert "4242" in bot.telegram.last_text(USER)


async def test_whoami_is_only_in_the_staff_menus(bot):
    for messenger, admin in ((bot.telegram, TELEGRAM_ADMIN), (bot.bale, BALE_ADMIN)):
        calls = messenger.request.calls_to("setMyCommands")
        everyone = [c for c in calls if "scope" not in c.params]
        staff = [c for c in calls if json.loads(json.dumps(c.params.get("scope") or {})).get("chat_id") == admin]
        assert [c["command"] for c in everyone[0].params["commands"]] == [name for name, _ in texts.COMMANDS]
        assert "whoami" not in [name for name, _ in texts.COMMANDS]
        assert "whoami" in [c["command"] for c in staff[0].params["commands"]]


async def test_contact_the_office_carries_the_support_line(bot):
    await apply(bot)
    card = bot.telegram.last_with_buttons(STAFF_CHAT)
    await bot.telegram.update(bot.telegram.updates.callback(TELEGRAM_ADMIN, card, f"amb:r:{await _id(bot, AMB)}"))
    await bot.settle()
    assert bot.telegram.last_text(AMB) == amb.rejected(SUPPORT)
    assert SUPPORT in amb.rejected(SUPPORT) and SUPPORT in amb.suspended(SUPPORT)
    assert "تماس بگیرید." in amb.suspended()  # no line configured: the sentence still ends well
