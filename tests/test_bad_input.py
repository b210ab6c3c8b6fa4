"""Bad input at every step gets a clear Persian answer and loses nothing."""
from __future__ import annotations

from bot.campaign.clock import ManualClock
from messages_fa import buttons as b
from tests.conftest import Bot, phase_moments
from tests.support.journeys import USER, choose_tajrish, write_to_preview


async def start_flow(bot):
    tg = bot.telegram
    await choose_tajrish(bot)
    await tg.send(USER, b.SEND_PROPOSAL)
    return tg


async def test_sticker_where_text_expected_and_nothing_lost(bot):
    tg = await start_flow(bot)
    await tg.press(USER, "ورزشی")
    await tg.update(tg.updates.sticker(USER))
    assert "به صورت متن" in tg.last_text(USER)
    await tg.send(USER, "زمین فوتبال")
    await tg.update(tg.updates.photo(USER))  # a photo where the description is expected
    assert "به صورت متن" in tg.last_text(USER)
    draft = await bot.services.proposals.draft(await bot.services.repos.citizens.find("telegram", USER))
    assert draft.category_id == "sport" and draft.title == "زمین فوتبال" and draft.description is None


async def test_five_thousand_character_title(bot):
    tg = await start_flow(bot)
    await tg.press(USER, "ورزشی")
    await tg.send(USER, "ت" * 5000)
    assert "۱۰۰ حرف" in tg.last_text(USER) and "۵٬۰۰۰" in tg.last_text(USER)
    draft = await bot.services.proposals.draft(await bot.services.repos.citizens.find("telegram", USER))
    assert draft.title is None
    await tg.send(USER, "عنوان درست")
    assert "گام ۳" in tg.last_text(USER)


async def test_too_long_description_and_too_short_title(bot):
    tg = await start_flow(bot)
    await tg.press(USER, "ورزشی")
    await tg.send(USER, "ab")
    assert "خیلی کوتاه" in tg.last_text(USER)
    await tg.send(USER, "عنوان")
    await tg.send(USER, "ش" * 1001)
    assert "۱٬۰۰۰" in tg.last_text(USER)


async def test_typing_instead_of_pressing_category_and_forged_category(bot):
    tg = await start_flow(bot)
    await tg.send(USER, "ورزشی")
    assert "دکمه" in tg.last_text(USER)
    await tg.press_data(USER, "c:../../etc")
    assert "معتبر نیست" in tg.alerts()[-1]
    draft = await bot.services.proposals.draft(await bot.services.repos.citizens.find("telegram", USER))
    assert draft.category_id is None


async def test_html_in_title_is_escaped_on_telegram_and_plain_on_bale(bot):
    tg = bot.telegram
    await choose_tajrish(bot)
    await write_to_preview(tg, title="<b>زمین</b> & بازی")
    preview = tg.request.last(USER)
    assert "&lt;b&gt;زمین&lt;/b&gt; &amp; بازی" in preview["text"]
    assert tg.request.calls_to("sendMessage")[-1].params["parse_mode"] == "HTML"
    bale = bot.bale
    await choose_tajrish(bot, USER, messenger=bale)
    await write_to_preview(bale, title="<b>زمین</b>")
    assert "<b>زمین</b>" in bale.request.last(USER)["text"]
    assert "parse_mode" not in bale.request.calls_to("sendMessage")[-1].params


async def test_unknown_text_and_commands_get_a_hint_and_the_menu(bot):
    tg = bot.telegram
    await choose_tajrish(bot)
    await tg.send(USER, "سلام")  # too short to be a proposal: pointed to what can be done now
    assert f"دکمهٔ «{b.SEND_PROPOSAL}»" in tg.last_text(USER) and b.SEND_PROPOSAL in tg.menu(USER)
    await tg.send(USER, "/nonsense")
    assert "متوجه نشدم" in tg.last_text(USER)
    await tg.update(tg.updates.sticker(USER))
    assert "متوجه نشدم" in tg.last_text(USER)


async def test_stale_unknown_button(bot):
    tg = bot.telegram
    await choose_tajrish(bot)
    await tg.press_data(USER, "zz:1")
    assert "معتبر نیست" in tg.alerts()[-1]
    await tg.press_data(USER, "n:atlantis")
    assert "معتبر نیست" in tg.alerts()[-1]


async def test_whoami_and_help(bot):
    tg = bot.telegram
    await tg.send(USER, "/whoami")
    assert "1001" in tg.last_text(USER) and "۱۰۰۱" in tg.last_text(USER)
    await tg.send(USER, "/help")
    assert "راهنما" in tg.last_text(USER)


async def test_proposals_close_while_writing(bot):
    tg = await start_flow(bot)
    await tg.press(USER, "ورزشی")
    await tg.send(USER, "زمین بازی")
    await tg.send(USER, "شرح کافی برای این پیشنهاد اینجاست.")
    await tg.send(USER, b.CONTINUE)
    bot.at("review")
    await tg.press(USER, b.CONFIRM)
    assert "امکان ثبت پیشنهاد نیست" in tg.last_text(USER)
    assert await bot.services.proposals.mine(await bot.services.repos.citizens.find("telegram", USER)) == []


async def test_phase_gating_exactly_at_the_boundary(bot):
    tg = bot.telegram
    await choose_tajrish(bot)
    opens = bot.config.calendar.proposals_opens
    import datetime as dt
    bot.clock.set(opens - dt.timedelta(seconds=1))
    await tg.send(USER, b.SEND_PROPOSAL)
    assert "امکان ثبت پیشنهاد نیست" in tg.last_text(USER)
    bot.clock.set(opens)
    await tg.send(USER, b.SEND_PROPOSAL)
    assert "گام ۱" in tg.last_text(USER)


async def test_set_my_commands_missing_on_bale_does_not_stop_start(config):
    def bale_without_commands(platform, request):
        # Bale answers 404 for setMyCommands, which PTB reports as InvalidToken.
        if platform == "bale":
            request.fail("setMyCommands", 404, "Not Found", times=None)

    running = await Bot(config, ManualClock(phase_moments(config)["proposals"]), bale_without_commands).start()
    assert running.bale.request.calls_to("setMyCommands")[0].status == 404
    ok = running.telegram.request.calls_to("setMyCommands")[0]
    assert ok.status == 200 and [c["command"] for c in ok.params["commands"]] == ["start", "help", "cancel"]
    await running.bale.send(USER, "/start")
    assert "من شهردارم" in running.bale.last_text(USER)
    await running.stop()


async def test_double_tap_on_edit_is_not_an_error(bot):
    tg = bot.telegram
    await choose_tajrish(bot)
    await write_to_preview(tg)
    preview = tg.last_with_buttons(USER)
    await tg.update(tg.updates.callback(USER, preview, "pv:edit"))
    await tg.update(tg.updates.callback(USER, preview, "pv:edit"))
    assert len(tg.request.calls_to("answerCallbackQuery")) >= 2  # and the fixture asserts no errors


async def test_an_old_message_edited_into_cancel_does_nothing(bot):
    tg = await start_flow(bot)
    await tg.press(USER, "ورزشی")
    edited = tg.updates.raw({"edited_message": {
        "message_id": 5, "date": 0, "edit_date": 1, "chat": {"id": USER, "type": "private", "first_name": "U"},
        "from": tg.updates.user(USER), "text": "/cancel",
        "entities": [{"type": "bot_command", "offset": 0, "length": 7}],
    }})
    await tg.update(edited)
    draft = await bot.services.proposals.draft(await bot.services.repos.citizens.find("telegram", USER))
    assert draft is not None and draft.category_id == "sport"


async def test_citizen_buttons_pressed_in_a_group_change_nothing(bot):
    tg = bot.telegram
    await tg.send(USER, "/start")
    welcome = dict(tg.last_with_buttons(USER))
    welcome["chat"] = {"id": -500, "type": "supergroup", "title": "g"}
    await tg.update(tg.updates.callback(USER, welcome, "n:tajrish"))
    assert "معتبر نیست" in tg.alerts()[-1]
    assert (await bot.services.repos.citizens.find("telegram", USER)).neighbourhood_id is None
    assert tg.request.messages(-500) == []
