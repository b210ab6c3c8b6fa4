"""A keyboard is turned into the Bot API's JSON once, however often it is sent (issue 13: no
per-update work that can be done once), and what is sent is what PTB would have sent."""
from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, ReplyKeyboardMarkup

from bot import keyboards, markup_dicts
from bot.markup_dicts import MarkupDicts
from bot.messenger_bot import MessengerBot
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
    calls = count_to_dict(monkeypatch, InlineKeyboardMarkup)
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
    assert calls.count(id(hoods)) == 1  # four sends, one serialisation


def test_keyboards_made_for_one_message_fall_out_and_the_cache_stays_bounded():
    cache = MarkupDicts()
    kept = ReplyKeyboardMarkup([["a"]])
    first = cache.as_dict(kept)
    for page in range(markup_dicts.SIZE * 3):
        ballot = InlineKeyboardMarkup([[InlineKeyboardButton(f"رأی {page}", callback_data=f"v:{page}:0")]])
        assert cache.as_dict(ballot) == ballot.to_dict()
        assert cache.as_dict(kept) is first  # in use all the time: never evicted
    assert len(cache) == markup_dicts.SIZE
