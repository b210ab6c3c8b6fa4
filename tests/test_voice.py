"""A voice note as the description (issue 16, §4): kept with its file id, length and messenger;
staff hear it with the card on both messengers (a copy made once for the other one); limits from
config; a title typed or left to staff; an optional transcription endpoint that only drafts."""
from __future__ import annotations

import asyncio
import dataclasses
import json

import pytest
from aiohttp import web

from bot.campaign.clock import ManualClock
from bot.campaign.config import Voice
from bot.messenger.platforms import PLATFORMS
from bot.messenger.transcription import transcribe
from messages_fa import buttons as b
from messages_fa import texts
from messages_fa.numbers import fa_digits
from tests.conftest import BALE_ADMIN, STAFF_CHAT, TELEGRAM_ADMIN, Bot, make_config, phase_moments
from tests.support.journeys import USER, VOTER, choose_tajrish, put_to_the_vote, verify

GREEN = "فضای سبز و محیط زیست"


class Stub:
    """A local transcription endpoint: answers what ``mode`` says, records what it was sent."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.received: list[tuple[str, bytes]] = []
        self.never = asyncio.Event()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.received.append((request.headers.get("Content-Type", ""), await request.read()))
        if self.mode == "fail":
            return web.Response(status=500, text="model crashed")
        if self.mode == "hang":
            await self.never.wait()
        if self.mode == "garbage":
            return web.Response(text="<html>not json</html>")
        return web.json_response({"text": "  سلام، لطفاً   در پارک محله نیمکت بگذارید  "})


@pytest.fixture
async def stub():
    endpoint = Stub()
    app = web.Application()
    app.router.add_post("/transcribe", endpoint.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    endpoint.url = f"http://127.0.0.1:{port}/transcribe"
    yield endpoint
    endpoint.never.set()
    await runner.cleanup()


async def _voice_proposal(bot, duration=75, staff_title=False, messenger=None, user=USER):
    m = messenger or bot.telegram
    await choose_tajrish(bot, user, messenger=m)
    await m.send(user, b.SEND_PROPOSAL)
    await m.press(user, GREEN)
    if staff_title:
        await m.send(user, b.STAFF_WRITES_TITLE)
        assert texts.title_left_to_staff() in m.request.texts(user)
    else:
        await m.send(user, "نیمکت در پارک")
    await m.update(m.updates.voice(user, duration=duration))
    await m.send(user, b.CONTINUE)
    await m.press(user, b.CONFIRM)
    await bot.settle()


async def _at_the_description(bot):
    tg = bot.telegram
    await choose_tajrish(bot)
    await tg.send(USER, b.SEND_PROPOSAL)
    await tg.press(USER, GREEN)
    await tg.send(USER, "نیمکت در پارک")
    return tg


async def _proposal(bot):
    row = await bot.db.read(lambda c: c.execute("SELECT id FROM proposals").fetchone())
    return await bot.services.proposals.get(row[0])


async def test_a_voice_note_is_the_description_and_staff_hear_it_on_both_messengers(bot):
    tg = await _at_the_description(bot)
    assert "پیام صوتی تا ۵ دقیقه" in tg.last_text(USER)  # the description step offers it
    await tg.update(tg.updates.voice(USER, duration=75))
    said = tg.request.texts(USER)[-2:]
    assert said[0] == texts.voice_saved(75) and "۱ دقیقه و ۱۵ ثانیه" in said[0]
    assert said[1] == texts.ask_media()
    await tg.send(USER, b.CONTINUE)
    assert texts.voice_description(75) in tg.last_text(USER)  # the preview
    await tg.press(USER, b.CONFIRM)
    await bot.settle()

    proposal = await _proposal(bot)
    assert (proposal.voice_duration, proposal.voice_platform) == (75, "telegram")
    assert proposal.voice_file_id.startswith("voice") and proposal.description == texts.voice_description(75)
    # Telegram's staff chat: the voice by its own file id, before the card.
    [voice] = tg.request.calls_to("sendVoice")
    assert voice.params["chat_id"] == STAFF_CHAT and voice.params["voice"] == proposal.voice_file_id
    assert f"پیام صوتی پیشنهاد {fa_digits(proposal.code)}" in voice.params["caption"]
    staff_texts = [m.get("text") or m.get("caption") for m in tg.request.messages(STAFF_CHAT)]
    assert staff_texts.index(voice.params["caption"]) < len(staff_texts) - 1  # the card follows
    # Bale's admin: a copy, downloaded from Telegram and uploaded once, its file id kept.
    [copy] = bot.bale.request.calls_to("sendVoice")
    assert copy.params["chat_id"] == BALE_ADMIN and copy.files
    bale_copy = await bot.services.repos.proposals.media_copy("voice", proposal.id, "bale")
    assert bale_copy and bale_copy != proposal.voice_file_id
    # /review on Bale sends the kept copy, nothing uploaded again.
    await bot.bale.send(BALE_ADMIN, "/review")
    again = bot.bale.request.calls_to("sendVoice")[-1]
    assert again.params["voice"] == bale_copy and not again.files


async def test_a_voice_too_long_or_too_big_gets_a_clear_answer_and_the_step_stays(bot):
    tg = await _at_the_description(bot)
    await tg.update(tg.updates.voice(USER, duration=301))
    assert tg.last_text(USER) == texts.voice_too_long(300, 301)
    await tg.update(tg.updates.voice(USER, duration=30, file_size=5 * 1024 * 1024 + 1))
    assert tg.last_text(USER) == texts.voice_too_big(5)
    citizen = await bot.services.repos.citizens.find("telegram", USER)
    assert (await bot.services.proposals.draft(citizen)).voice_file_id is None
    # Still the description step: a voice within the limits, or typed text, is taken.
    await tg.update(tg.updates.voice(USER, duration=300, file_size=None))
    assert tg.last_text(USER) == texts.ask_media()
    # A typed description afterwards (editing) replaces the voice.
    await tg.send(USER, b.BACK)
    await tg.send(USER, "در پارک محله چند نیمکت برای سالمندان گذاشته شود.")
    draft = await bot.services.proposals.draft(citizen)
    assert draft.voice_file_id is None and draft.description.startswith("در پارک")


async def test_a_citizen_who_cannot_type_leaves_the_title_to_staff(bot):
    await _voice_proposal(bot, staff_title=True)
    proposal = await _proposal(bot)
    assert proposal.title == texts.title_by_staff() and proposal.title_by_staff == 1
    [voice] = bot.telegram.request.calls_to("sendVoice")
    assert f"/title {proposal.code}" in voice.params["caption"]


@pytest.fixture
async def transcribing(stub, tmp_path):
    """The bot with [voice] transcribe_url pointed at the stub."""
    config = dataclasses.replace(make_config(tmp_path), voice=Voice(transcribe_url=stub.url,
                                                                    transcribe_timeout_seconds=5))
    running = await Bot(config, ManualClock(phase_moments(config)["proposals"])).start()
    yield running
    await running.stop()
    assert not running.errors, running.errors


async def test_a_transcription_is_a_draft_for_staff(stub, transcribing):
    bot = transcribing
    await _voice_proposal(bot)
    proposal = await _proposal(bot)
    assert proposal.voice_transcript == "سلام، لطفاً در پارک محله نیمکت بگذارید"
    [(content_type, audio)] = stub.received  # downloaded once, for the copy and the transcription
    assert content_type == "audio/ogg" and audio
    for request in (bot.telegram.request, bot.bale.request):
        [voice] = request.calls_to("sendVoice")
        assert "پیش‌نویس ماشینی" in voice.params["caption"] and proposal.voice_transcript in voice.params["caption"]
    assert len(bot.telegram.request.calls_to("getFile")) == 1
    # Never shown to citizens.
    assert proposal.voice_transcript not in " ".join(t or "" for t in bot.telegram.request.texts(USER))


@pytest.mark.parametrize("mode", ["fail", "garbage"])
async def test_a_failing_endpoint_never_stops_a_submission_or_its_card(stub, transcribing, mode):
    bot = transcribing
    stub.mode = mode
    await _voice_proposal(bot)
    proposal = await _proposal(bot)
    assert proposal.voice_transcript is None and len(stub.received) == 1
    assert "کد پیگیری" in bot.telegram.last_text(USER)
    [voice] = bot.telegram.request.calls_to("sendVoice")
    assert "پیش‌نویس" not in voice.params["caption"]
    assert bot.telegram.last_with_buttons(STAFF_CHAT) is not None  # the card went out


async def test_a_slow_endpoint_times_out_into_no_draft(stub):
    stub.mode = "hang"
    assert await transcribe(stub.url, b"OggS", 0.05) is None
    assert await transcribe("http://127.0.0.1:9/nothing-listens", b"OggS", 1) is None
    stub.mode = "ok"
    assert await transcribe(stub.url, b"OggS", 5) == "سلام، لطفاً در پارک محله نیمکت بگذارید"
    assert json.loads(json.dumps(stub.received[-1][0])) == "audio/ogg"


async def test_staff_write_the_title_left_to_them_with_slash_title(bot):
    await _voice_proposal(bot, staff_title=True)
    proposal = await _proposal(bot)
    tg = bot.telegram
    # Not approved while the title is still «staff will write it»: from the card, or an old card's m:a.
    card = tg.last_with_buttons(STAFF_CHAT)
    for data in (f"rv:a:{proposal.id}", f"m:a:{proposal.id}"):
        await tg.update(tg.updates.callback(TELEGRAM_ADMIN, card, data))
        assert tg.alerts()[-1] == texts.title_first()
    assert (await bot.services.proposals.get(proposal.id)).status == "pending"
    await tg.send(TELEGRAM_ADMIN, f"/title {fa_digits(proposal.code)} نیمکت   در پارک محله")
    assert tg.last_text(TELEGRAM_ADMIN) == texts.title_written(proposal.code, "نیمکت در پارک محله")
    after = await bot.services.proposals.get(proposal.id)
    assert after.title == "نیمکت در پارک محله"
    [entry] = await bot.services.repos.audit.recent(1)
    assert (entry.action, entry.before, entry.after) == ("title", texts.title_by_staff(), "نیمکت در پارک محله")
    # A citizen cannot; a title the author typed is not staff's to rewrite; bad input changes nothing.
    await tg.send(USER, f"/title {proposal.code} عنوان دیگر")
    await tg.send(TELEGRAM_ADMIN, f"/title {proposal.code} ؟")
    assert tg.last_text(TELEGRAM_ADMIN) == texts.too_short(texts.TITLE_WORD)
    await tg.send(TELEGRAM_ADMIN, "/title")
    assert tg.last_text(TELEGRAM_ADMIN) == texts.title_usage()
    await _voice_proposal(bot, user=USER + 1)
    typed = [p for p in await _all(bot) if p.id != proposal.id][0]
    await tg.send(TELEGRAM_ADMIN, f"/title {typed.code} عنوان دیگر")
    assert tg.last_text(TELEGRAM_ADMIN) == texts.title_not_left_to_staff()
    assert [p.title for p in await _all(bot)] == ["نیمکت در پارک محله", "نیمکت در پارک"]
    await tg.update(tg.updates.callback(TELEGRAM_ADMIN, card, f"rv:a:{proposal.id}"))
    assert (await bot.services.proposals.get(proposal.id)).status == "approved"


async def _all(bot):
    rows = await bot.db.read(lambda c: c.execute("SELECT id FROM proposals ORDER BY id").fetchall())
    return [await bot.services.proposals.get(r[0]) for r in rows]


async def test_voters_hear_the_voice_in_the_details(bot):
    await _voice_proposal(bot)
    await put_to_the_vote(bot)
    tg = bot.telegram
    await choose_tajrish(bot, VOTER)
    await verify(bot)
    await tg.press(VOTER, b.details_button("۱"))
    proposal = await _proposal(bot)
    assert texts.voice_description(75) in tg.request.messages(VOTER)[-2]["text"]
    assert tg.request.calls_to("sendVoice")[-1].params == {"chat_id": VOTER, "voice": proposal.voice_file_id}


async def test_a_voice_note_at_the_main_menu_is_offered_as_a_proposal(bot):
    tg = bot.telegram
    await choose_tajrish(bot)
    await tg.update(tg.updates.voice(USER, duration=3601))
    assert tg.last_text(USER) == texts.voice_too_long(300, 3601)
    await tg.update(tg.updates.voice(USER, duration=50))
    assert tg.last_text(USER) == texts.from_voice_offer(PLATFORMS["telegram"].markup, "تجریش")
    await tg.press(USER, b.START_FROM_VOICE)
    await tg.press(USER, GREEN)
    await tg.send(USER, "نیمکت در پارک")
    while b.CONFIRM not in [label for label, _ in tg.buttons(USER)]:
        await tg.send(USER, b.CONTINUE)
    await tg.press(USER, b.CONFIRM)
    await bot.settle()
    proposal = await _proposal(bot)
    assert (proposal.title, proposal.voice_duration) == ("نیمکت در پارک", 50)
    assert proposal.description == texts.voice_description(50)
