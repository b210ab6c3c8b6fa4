"""Button labels, and recognising a label the citizen typed instead of pressing it."""
from __future__ import annotations

import re

from messages_fa.normalize import match_key

# Main menu (reply keyboard)
SEND_PROPOSAL = "📝 ارسال پیشنهاد"
VOTE = "🗳 مشاهدهٔ پیشنهادها و رأی"
MY_PROPOSALS = "📋 پیشنهادهای من"
CHANGE_NEIGHBOURHOOD = "📍 تغییر محله"
HELP = "❓ راهنما"
REMIND_ME = "🔔 به من خبر بده"
AMBASSADOR = "🤝 سفیر طرح"
RESULTS = "🏆 نتایج"

# Inside a flow
BACK = "↩️ بازگشت"
CANCEL = "✖️ انصراف"
CONTINUE = "➡️ ادامه"
SHARE_LOCATION = "📍 ارسال موقعیت مکانی"
SHARE_PHONE = "📱 ارسال شمارهٔ تلفن"

# Inline buttons
CONFIRM = "✅ تأیید و ارسال"
EDIT = "✏️ ویرایش"
CANCEL_PROPOSAL = "✖️ انصراف"
EDIT_CATEGORY = "دسته"
EDIT_TITLE = "عنوان"
EDIT_DESCRIPTION = "شرح"
EDIT_MEDIA = "عکس و مکان"
BACK_TO_PREVIEW = "↩️ بازگشت به پیش‌نمایش"
PREVIOUS_PAGE = "◀️ قبلی"
NEXT_PAGE = "بعدی ▶️"
APPROVE = "✅ تأیید"
REJECT = "❌ رد"

# Stray taps and typing (issue 16): a move's confirmation, a "not found" answer, free text, groups
ALL_NEIGHBOURHOODS = "📋 همهٔ محله‌ها"
START_FROM_TEXT = "📝 بله، پیشنهاد با همین متن"
NOT_FROM_TEXT = "نه، لازم نیست"
START_FROM_VOICE = "📝 بله، پیشنهاد با همین پیام صوتی"  # the same offer for a voice note (issue 16 §4)
OPEN_PRIVATE_CHAT = "💬 گفتگو با ربات"


def move_to(neighbourhood: str) -> str:
    return f"✅ بله، محلهٔ من {neighbourhood} است"


def stay_in(neighbourhood: str) -> str:
    return f"نه، در {neighbourhood} می‌مانم"


def vote_button(number: str, voted: bool) -> str:
    return f"✅ {number} — پس گرفتن رأی" if voted else f"☐ رأی به {number}"


# The title step: for a citizen who cannot type (issue 16, §4)
STAFF_WRITES_TITLE = "✍️ عنوان را کارکنان بنویسند"

# The ballot's details view (issue 16, §2)
BACK_TO_BALLOT = "↩️ بازگشت به فهرست"


def details_button(number: str) -> str:
    return f"🔎 جزئیات {number}"


_EMOJI = re.compile(r"[^\w\s()]", re.UNICODE)


def _core(label: str) -> str:
    return match_key(_EMOJI.sub("", label))


_MENU = {
    _core(label): label
    for label in (SEND_PROPOSAL, VOTE, MY_PROPOSALS, CHANGE_NEIGHBOURHOOD, HELP, REMIND_ME, AMBASSADOR, RESULTS, BACK,
                  CANCEL, CONTINUE, STAFF_WRITES_TITLE)
}
_ALIASES = {_core(alias): label for alias, label in (
    ("رای", VOTE), ("رأی", VOTE), ("رای دادن", VOTE), ("پیشنهاد", SEND_PROPOSAL), ("راهنما", HELP),
    ("بازگشت", BACK), ("انصراف", CANCEL), ("لغو", CANCEL), ("ادامه", CONTINUE), ("سفیر", AMBASSADOR), ("نتایج", RESULTS),
)}


def recognise(text: str) -> str | None:
    """The label a typed text stands for: «ارسال پيشنهاد» (Arabic yeh, no emoji) is still the button."""
    key = _core(text)
    return _MENU.get(key) or _ALIASES.get(key)


# Similar proposals (issue 16 §3): under the list shown at the title and description steps.
SIMILAR_DIFFERENT = "➡️ پیشنهاد من فرق دارد، ادامه"


def similar_button(number: str, title: str, mine: bool) -> str:
    """``number``: the item's number in Persian digits; ``title`` shortened by the caller."""
    return f"↩️ {number}. «{title}» همان پیشنهاد من است" if mine else f"❤ {number}. من هم: «{title}»"
