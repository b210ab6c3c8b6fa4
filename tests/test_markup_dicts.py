"""A keyboard is turned into the Bot API's JSON once, however often it is sent (issue 13: no
per-update work that can be done once), and what is sent is what PTB would have sent."""
from __future__ import annotations

import json

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, ReplyKeyboardMarkup

from bot.messenger import keyboards, markup_dicts
from bot.messenger.markup_dicts import MarkupDicts
from bot.messenger.messenger_bot import MessengerBot
from tests.support.recording_request import RecordingRequest


def count_to_dict(monkeypatch, cls) -> list[int]:
    calls: list[int] = []
    original = cls.to_dict

    def spy(self, recursive: bool = True):
        calls.append(id(self))
        return original(self, recursive)
    monkeypatch.setattr(cls, "to_dict", spy)
    return calls


async def test_a_cached_keyboard_is_serialised_once_and_sent_as_ptb_would(monkeypatch, config):
    hoods = keyboards.neighbourhoods(config.neighbourhoods)  # the same object at every /start
    menu = keyboards.share_phone()
    expected = {"hoods": hoods.to_dict(), "menu": menu.to_dict()}
    calls = count_to_dict(monkeypatch, ReplyKeyboardMarkup)
    conversions: list[int] = []
    plain_inline = markup_dicts._plain_inline
    monkeypatch.setattr(markup_dicts, "_plain_inline", lambda m: conversions.append(id(m)) or plain_inline(m))
    request = RecordingRequest()
    async with MessengerBot("1:unit-token", platform="telegram", request=request) as bot:
        for chat in (1, 2, 3):
            await bot.send_message(chat, "محله؟", reply_markup=hoods)
            await bot.send_message(chat, "شماره؟", reply_markup=menu)
        sent = await bot.send_message(4, "x")  # no keyboard: nothing added
        await bot.edit_message_text("محله؟!", chat_id=1, message_id=1, reply_markup=hoods)

    markups = [c.params.get("reply_markup") for c in request.calls_to("sendMessage")]
    assert markups == [expected["hoods"], expected["menu"]] * 3 + [None]
    assert request.calls_to("editMessageText")[0].params["reply_markup"] == expected["hoods"]
    assert sent.message_id
    assert calls.count(id(menu)) == 1  # three sends, one serialisation
    assert conversions.count(id(hoods)) == 1  # four sends, one (written directly: plain buttons)


def test_keyboards_made_for_one_message_fall_out_and_the_cache_stays_bounded():
    cache = MarkupDicts()
    kept = ReplyKeyboardMarkup([["a"]])
    first = cache.as_dict(kept)
    for page in range(markup_dicts.SIZE * 3):
        ballot = InlineKeyboardMarkup([[InlineKeyboardButton(f"رأی {page}", callback_data=f"v:{page}:0")]])
        assert cache.as_dict(ballot) == ballot.to_dict()
        assert cache.as_dict(kept) is first  # in use all the time: never evicted
    assert len(cache) == markup_dicts.SIZE



def test_plain_inline_buttons_are_written_directly_exactly_as_ptb_would(monkeypatch):
    from telegram import LoginUrl, WebAppInfo
    plain = InlineKeyboardMarkup([
        [InlineKeyboardButton("☑ رأی به «پارک»", callback_data="v:12:1"), InlineKeyboardButton("نقشه", url="https://x.ir/a")],
        [InlineKeyboardButton("بازگشت", callback_data="b")],
    ])
    calls = count_to_dict(monkeypatch, InlineKeyboardMarkup)
    written = MarkupDicts().as_dict(plain)
    assert calls == []  # without PTB's reflection
    assert written == plain.to_dict()
    # Any other kind of button, or fields PTB does not know, are left to PTB.
    for other in (InlineKeyboardButton("وب", web_app=WebAppInfo("https://x.ir")),
                  InlineKeyboardButton("ورود", login_url=LoginUrl("https://x.ir")),
                  InlineKeyboardButton("x", callback_data="y", api_kwargs={"future_field": 1})):
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("a", callback_data="a"), other]])
        calls.clear()
        assert MarkupDicts().as_dict(markup) == markup.to_dict()
        assert calls.count(id(markup)) == 2  # once by the cache, once above



def test_the_bots_inline_keyboards_are_sent_as_ptb_would(config):
    made = [keyboards.neighbourhoods(config.neighbourhoods), keyboards.categories(config.categories),
            keyboards.preview(), keyboards.edit_fields(), keyboards.moderation(7)]
    for markup in made:
        assert markup_dicts._plain_inline(markup) == markup.to_dict()


async def test_the_ballot_is_written_as_json_and_sent_as_ptb_would_send_its_buttons():
    """keyboards.ballot writes the Bot API's JSON itself (a keyboard made for one message): the
    same as PTB's InlineKeyboardMarkup of those buttons, and sent as it is."""
    from types import SimpleNamespace

    from bot.campaign.services.voting import BallotView
    from bot.messenger import buttons as bt
    from messages_fa import buttons as b
    from messages_fa.numbers import fa_digits

    view = BallotView(page=1, pages=3, proposals=[SimpleNamespace(id=12), SimpleNamespace(id=13)],
                      vote_counts=None, my_votes={13}, used=1, limit=3)
    ptbs = InlineKeyboardMarkup([
        [InlineKeyboardButton(b.vote_button(fa_digits(6), False), callback_data=bt.Vote(12, 1).pack()),
         InlineKeyboardButton(b.details_button(fa_digits(6)), callback_data=bt.Details(12).pack())],
        [InlineKeyboardButton(b.vote_button(fa_digits(7), True), callback_data=bt.Vote(13, 1, withdraw=True).pack()),
         InlineKeyboardButton(b.details_button(fa_digits(7)), callback_data=bt.Details(13).pack())],
        [InlineKeyboardButton(b.PREVIOUS_PAGE, callback_data=bt.BallotPage(0).pack()),
         InlineKeyboardButton(b.NEXT_PAGE, callback_data=bt.BallotPage(2).pack())],
    ])
    written = keyboards.ballot(view)
    assert isinstance(written, markup_dicts.JsonReady)
    assert written == ptbs.to_dict()
    last = keyboards.ballot(BallotView(page=2, pages=3, proposals=[SimpleNamespace(id=14)], vote_counts=None,
                                       my_votes=set(), used=0, limit=3))
    assert last["inline_keyboard"][-1] == [{"text": b.PREVIOUS_PAGE, "callback_data": "p:1"}]  # no "next"
    request = RecordingRequest()
    async with MessengerBot("1:unit-token", platform="telegram", request=request) as bot:
        await bot.send_message(5, "برگهٔ رأی", reply_markup=written)
        await bot.edit_message_text("برگهٔ رأی (۱ از ۳)", chat_id=5, message_id=1, reply_markup=written)
    assert request.calls_to("sendMessage")[0].params["reply_markup"] == ptbs.to_dict()
    assert request.calls_to("editMessageText")[0].params["reply_markup"] == ptbs.to_dict()


async def test_the_link_preview_stays_off_and_its_options_are_serialised_once(monkeypatch):
    from telegram import LinkPreviewOptions
    calls = count_to_dict(monkeypatch, LinkPreviewOptions)
    request = RecordingRequest()
    async with MessengerBot("1:unit-token", platform="telegram", request=request) as bot:
        for chat in (1, 2, 3):
            await bot.send_message(chat, "https://x.ir", link_preview_options=markup_dicts.NO_LINK_PREVIEW)
    sent = [c.params.get("link_preview_options") for c in request.calls_to("sendMessage")]
    assert sent == [{"is_disabled": True}] * 3  # what disable_web_page_preview=True sent
    assert calls == [id(markup_dicts.NO_LINK_PREVIEW)]


async def test_a_call_of_json_values_goes_out_as_ptb_would_have_sent_it():
    from telegram import MessageEntity
    from telegram.request import RequestData

    from bot.messenger.messenger_bot import JsonReadyRequestData

    class Keeping(RecordingRequest):
        def __init__(self):
            super().__init__()
            self.data: list[RequestData] = []

        async def do_request(self, url, method, request_data=None, *args, **kwargs):
            self.data.append(request_data)
            return await super().do_request(url, method, request_data, *args, **kwargs)

    hoods = InlineKeyboardMarkup([[InlineKeyboardButton("الهیه", callback_data="n:3")]])
    mine, ptbs = Keeping(), Keeping()
    async with MessengerBot("1:unit-token", platform="telegram", request=mine) as bot:
        await bot.send_message(5, "سلام <b>شما</b>", parse_mode="HTML", reply_markup=hoods,
                               link_preview_options=markup_dicts.NO_LINK_PREVIEW)
        await bot.answer_callback_query("q1", "ثبت شد", show_alert=True)
        # An object among the parameters (entities): PTB's own conversion.
        await bot.send_message(5, "سلام", entities=[MessageEntity("bold", 0, 4)])
    from telegram import Bot
    async with Bot("1:unit-token", request=ptbs) as plain_bot:
        await plain_bot.send_message(5, "سلام <b>شما</b>", parse_mode="HTML", reply_markup=hoods,
                                     disable_web_page_preview=True)
        await plain_bot.answer_callback_query("q1", "ثبت شد", show_alert=True)
        await plain_bot.send_message(5, "سلام", entities=[MessageEntity("bold", 0, 4)])
    sent = [d for d in mine.data if d is not None][-3:]
    expected = [d for d in ptbs.data if d is not None][-3:]
    assert [type(d) for d in sent] == [JsonReadyRequestData, JsonReadyRequestData, RequestData]
    assert [d.parameters for d in sent] == [d.parameters for d in expected]
    # A form transport's view (the same JSON; keys may come in another order).
    def read(value: str):
        try:
            return json.loads(value)
        except ValueError:
            return value  # a string goes as it is
    assert [{k: read(v) for k, v in d.json_parameters.items()} for d in sent] == [
        {k: read(v) for k, v in d.json_parameters.items()} for d in expected]
