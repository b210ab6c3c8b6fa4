"""Persian text: normalising what people type, numbers and dates as people read them, phases,
typed button labels and neighbourhood names."""
from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo
from pathlib import Path

import pytest

from bot.campaign.calendar import days_left, phase_at
from bot.campaign.config import Calendar, ConfigError, Neighbourhood, load_config, parse_jalali
from bot.campaign.services.citizens import CitizenService
from domain import Phase
from messages_fa import buttons as b
from messages_fa.dates import jalali_date, jalali_datetime, jalali_short
from messages_fa.normalize import clean_text, match_key, normalize_input, to_ascii_digits, typed_moment
from messages_fa.numbers import fa_digits, fa_number

ROOT = Path(__file__).resolve().parent.parent
TEHRAN = zoneinfo.ZoneInfo("Asia/Tehran")
UTC = dt.timezone.utc
ZWNJ, RLM, LRM = "\u200c", "\u200f", "\u200e"


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


# --- normalize_input / match_key / clean_text ----------------------------------------------------


def test_normalize_input_letters():
    assert normalize_input("علي") == "علی"  # Arabic yeh
    assert normalize_input("كوهسار") == "کوهسار"  # Arabic kaf
    assert normalize_input("مصطفى") == "مصطفی"  # alef maksura
    assert normalize_input("تجريش") == "تجریش"


def test_normalize_input_digits():
    assert normalize_input("۰۱۲۳۴۵۶۷۸۹") == "0123456789"  # Persian
    assert normalize_input("٠١٢٣٤٥٦٧٨٩") == "0123456789"  # Arabic-Indic
    assert normalize_input("پلاک ۱۲ و ٣٤") == "پلاک 12 و 34"
    assert to_ascii_digits("۰۹۱۲") == "0912"


def test_normalize_input_spaces_and_zwnj():
    assert normalize_input("  گلاب\u200cدره   شمالی \n\t") == "گلاب\u200cدره شمالی"
    assert ZWNJ in normalize_input("گلاب\u200cدره")


def test_match_key_drops_invisible_marks_and_spaces():
    assert match_key("گلاب\u200cدره") == "گلابدره"
    assert match_key("گلاب دره") == "گلابدره"
    assert match_key(f"{RLM}تجریش{LRM}") == "تجریش"
    assert match_key("\ufeffتجــریش") == "تجریش"  # BOM and tatweel
    assert match_key("  تجريش  ") == "تجریش"


def test_match_key_is_tolerant_of_hamza_and_case():
    assert match_key("رأی") == match_key("رای") == "رای"
    assert match_key("دارآباد") == "داراباد"
    assert match_key("ABC ۱۲") == "abc12"


def test_match_key_keeps_different_words_apart():
    assert match_key("تجریش") != match_key("چیذر")
    assert match_key("ازگل") != match_key("اراج")


def test_clean_text_single_line():
    assert clean_text("  كاشت   درخت\nدر\tخيابان  ", single_line=True) == "کاشت درخت در خیابان"


def test_clean_text_keeps_zwnj_and_digits_as_typed():
    assert clean_text("پیاده\u200cرو ۱۲", single_line=True) == "پیاده\u200cرو ۱۲"


def test_clean_text_drops_control_characters():
    assert clean_text("سلام\x00\x07\x1b دنیا\x7f", single_line=True) == "سلام دنیا"
    assert clean_text("\u202eسلام\u202c \u2066دنیا\u2069", single_line=True) == "سلام دنیا"


def test_clean_text_multi_line_keeps_newlines():
    text = "  خط اول   با  فاصله  \r\nخط دوم\n\n\n\n\nخط   سوم\t\t"
    assert clean_text(text, single_line=False) == "خط اول با فاصله\nخط دوم\n\nخط سوم"


def test_clean_text_multi_line_letters_and_zwnj():
    assert clean_text("پياده\u200cرو\nكوچه", single_line=False) == "پیاده\u200cرو\nکوچه"


# --- numbers -------------------------------------------------------------------------------------


def test_fa_digits():
    assert fa_digits(1405) == "۱۴۰۵"
    assert fa_digits("09:05") == "۰۹:۰۵"
    assert fa_digits(0) == "۰"


@pytest.mark.parametrize("value, shown", [
    (12345, "۱۲٬۳۴۵"),
    (0, "۰"),
    (1000000, "۱٬۰۰۰٬۰۰۰"),
    (999, "۹۹۹"),
    (1000, "۱٬۰۰۰"),
])
def test_fa_number(value, shown):
    assert fa_number(value) == shown


# --- dates ---------------------------------------------------------------------------------------


def test_jalali_datetime_of_the_opening():
    assert jalali_datetime(utc(2026, 11, 26, 5, 30), TEHRAN) == "پنجشنبه ۵ آذر ۱۴۰۵، ساعت ۹:۰۰"


def test_jalali_datetime_afternoon_minutes_are_padded():
    # 10:35 UTC = 14:05 in Tehran
    assert jalali_datetime(utc(2026, 11, 26, 10, 35), TEHRAN) == "پنجشنبه ۵ آذر ۱۴۰۵، ساعت ۱۴:۰۵"


def test_jalali_date_uses_tehran_day_not_utc_day():
    # 21:00 UTC on Wednesday 25 Nov is already 00:30 on Thursday 5 Azar in Tehran.
    assert jalali_date(utc(2026, 11, 25, 21, 0), TEHRAN) == "پنجشنبه ۵ آذر ۱۴۰۵"
    assert jalali_date(utc(2026, 11, 25, 20, 0), TEHRAN) == "چهارشنبه ۴ آذر ۱۴۰۵"


def test_jalali_short():
    assert jalali_short(utc(2026, 11, 26, 5, 30), TEHRAN) == "۱۴۰۵/۰۹/۰۵ ۰۹:۰۰"


def test_days_left_same_day_is_zero():
    assert days_left(utc(2026, 11, 26, 5, 30), utc(2026, 11, 26, 15, 0), TEHRAN) == 0


def test_days_left_next_day_is_one():
    assert days_left(utc(2026, 11, 26, 5, 30), utc(2026, 11, 27, 5, 30), TEHRAN) == 1
    assert days_left(utc(2026, 11, 26, 5, 30), utc(2026, 12, 6, 5, 30), TEHRAN) == 10


def test_days_left_counts_tehran_midnight_not_utc():
    # 20:00 UTC = 23:30 on 25 Nov in Tehran; 21:00 UTC = 00:30 on 26 Nov: tomorrow in Tehran,
    # though the same UTC date.
    assert days_left(utc(2026, 11, 25, 20, 0), utc(2026, 11, 25, 21, 0), TEHRAN) == 1
    # 20:35 UTC on 25 Nov is 00:05 on 26 Nov in Tehran, and 19:00 UTC on 26 Nov is 22:30 the
    # same Tehran day: 0, though the UTC dates differ.
    assert days_left(utc(2026, 11, 25, 20, 35), utc(2026, 11, 26, 19, 0), TEHRAN) == 0


def test_days_left_in_the_past_is_negative():
    assert days_left(utc(2026, 11, 27, 5, 30), utc(2026, 11, 26, 5, 30), TEHRAN) == -1


# --- phases --------------------------------------------------------------------------------------


CALENDAR = load_config(ROOT / "config.example.toml").calendar
SECOND = dt.timedelta(seconds=1)


@pytest.mark.parametrize("boundary, before, after", [
    ("proposals_opens", Phase.BEFORE, Phase.PROPOSALS),
    ("proposals_closes", Phase.PROPOSALS, Phase.REVIEW),
    ("voting_opens", Phase.REVIEW, Phase.VOTING),
    ("voting_closes", Phase.VOTING, Phase.CLOSED),
])
def test_each_boundary_belongs_to_the_phase_it_opens(boundary, before, after):
    moment = getattr(CALENDAR, boundary)
    assert phase_at(CALENDAR, moment - SECOND).phase is before
    assert phase_at(CALENDAR, moment).phase is after
    assert phase_at(CALENDAR, moment + SECOND).phase is after


def test_phase_info_starts_and_ends():
    c = CALENDAR
    assert phase_at(c, c.proposals_opens - SECOND) == phase_at(c, utc(2000, 1, 1))
    info = phase_at(c, utc(2000, 1, 1))
    assert (info.phase, info.starts, info.ends) == (Phase.BEFORE, None, c.proposals_opens)
    info = phase_at(c, c.proposals_opens)
    assert (info.phase, info.starts, info.ends) == (Phase.PROPOSALS, c.proposals_opens, c.proposals_closes)
    info = phase_at(c, c.proposals_closes)
    assert (info.phase, info.starts, info.ends) == (Phase.REVIEW, c.proposals_closes, c.voting_opens)
    info = phase_at(c, c.voting_opens)
    assert (info.phase, info.starts, info.ends) == (Phase.VOTING, c.voting_opens, c.voting_closes)
    info = phase_at(c, utc(2100, 1, 1))
    assert (info.phase, info.starts, info.ends) == (Phase.CLOSED, c.voting_closes, None)


def test_phase_with_no_review_goes_straight_to_voting():
    c = Calendar(utc(2026, 1, 1), utc(2026, 1, 10), utc(2026, 1, 10), utc(2026, 1, 20))
    assert phase_at(c, utc(2026, 1, 10) - SECOND).phase is Phase.PROPOSALS
    assert phase_at(c, utc(2026, 1, 10)).phase is Phase.VOTING


def test_phase_at_accepts_a_tehran_aware_now():
    # 09:00 Tehran is the opening, whatever zone "now" is expressed in.
    assert phase_at(CALENDAR, dt.datetime(2026, 11, 26, 9, 0, tzinfo=TEHRAN)).phase is Phase.PROPOSALS
    assert phase_at(CALENDAR, dt.datetime(2026, 11, 26, 8, 59, 59, tzinfo=TEHRAN)).phase is Phase.BEFORE


# --- typed button labels -------------------------------------------------------------------------


@pytest.mark.parametrize("typed, label", [
    ("ارسال پیشنهاد", b.SEND_PROPOSAL),
    ("ارسال پيشنهاد", b.SEND_PROPOSAL),  # Arabic yeh
    ("  ارسال   پیشنهاد ", b.SEND_PROPOSAL),
    (b.SEND_PROPOSAL, b.SEND_PROPOSAL),
    ("پیشنهادهای من", b.MY_PROPOSALS),
    ("پيشنهادهاي من", b.MY_PROPOSALS),
    ("تغییر محله", b.CHANGE_NEIGHBOURHOOD),
    ("راهنما", b.HELP),
    ("به من خبر بده", b.REMIND_ME),
    ("مشاهده پیشنهادها و رأی", b.VOTE),
    ("مشاهده پیشنهادها و رای", b.VOTE),
    ("رأی", b.VOTE),
    ("رای", b.VOTE),
    ("رای دادن", b.VOTE),
    ("بازگشت", b.BACK),
    ("↩️ بازگشت", b.BACK),
    ("انصراف", b.CANCEL),
    ("لغو", b.CANCEL),
    ("ادامه", b.CONTINUE),
    ("پیشنهاد", b.SEND_PROPOSAL),
])
def test_recognise_typed_labels(typed, label):
    assert b.recognise(typed) == label


def test_recognise_keyboard_variants():
    assert b.recognise("كاشت") is None
    assert b.recognise("تغيير محله") == b.CHANGE_NEIGHBOURHOOD  # Arabic yeh
    assert b.recognise("پیشنهادهای\u200cمن") == b.MY_PROPOSALS  # ZWNJ instead of a space


@pytest.mark.parametrize("typed", ["سلام", "کاشت درخت در خیابان", "ارسال", "رأی بده به همه", "hello", "۱۲", "", "📝"])
def test_recognise_random_text_is_none(typed):
    assert b.recognise(typed) is None


# --- neighbourhood names -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def citizens() -> CitizenService:
    return CitizenService(load_config(ROOT / "config.example.toml"), clock=None, repos=None, calendar=None)


def ids(neighbourhoods) -> list[str]:
    return [n.id for n in neighbourhoods]


@pytest.mark.parametrize("typed, expected", [
    ("تجریش", ["tajrish"]),
    ("تجريش", ["tajrish"]),  # Arabic yeh
    (" تجریش ", ["tajrish"]),
    ("گلاب دره", ["golabdareh"]),
    ("گلابدره", ["golabdareh"]),
    ("گلاب\u200cدره", ["golabdareh"]),
    ("كوهسار", ["kouhsar"]),  # Arabic kaf
    ("داراباد", ["darabad"]),  # without madda
    ("دانشگاه", ["daneshgah"]),
    ("شهرک گل‌ها", ["daneshgah"]),
    ("محله تجریش", ["tajrish"]),
    ("محله‌ی ولنجک", ["velenjak"]),
])
def test_match_neighbourhoods_one(citizens, typed, expected):
    assert ids(citizens.match_neighbourhoods(typed)) == expected


def test_match_neighbourhood_returns_the_config_entry(citizens):
    (match,) = citizens.match_neighbourhoods("دانشگاه")
    assert match.name == "دانشگاه (شهرک گل‌ها)"


def test_partial_matching_several(citizens):
    assert ids(citizens.match_neighbourhoods("شهرک")) == ["daneshgah", "shahrak-naft"]


def test_exact_name_wins_over_partial():
    config = load_config(ROOT / "config.example.toml")
    config = dataclasses.replace(config, neighbourhoods=(
        Neighbourhood("vanak", "ونک"), Neighbourhood("vanak-north", "ونک شمالی"),
    ))
    service = CitizenService(config, clock=None, repos=None, calendar=None)
    assert ids(service.match_neighbourhoods("ونك")) == ["vanak"]
    assert ids(service.match_neighbourhoods("ون")) == ["vanak", "vanak-north"]
    assert ids(service.match_neighbourhoods("ونک‌شمالی")) == ["vanak-north"]


@pytest.mark.parametrize("typed", ["qwerty", "بلبلبلبل", "پاریس", "", "   ", "\u200c", "12345", "۱۲۳۴", "٣٤"])
def test_match_neighbourhoods_none(citizens, typed):
    assert citizens.match_neighbourhoods(typed) == []


def test_midnight_is_shown_as_24_of_the_day_that_ends():
    import datetime as dt
    import zoneinfo

    from messages_fa.dates import jalali_datetime

    tehran = zoneinfo.ZoneInfo("Asia/Tehran")
    # 1405/09/26 00:00 Tehran = 2026-12-16 20:30 UTC: registration is open all of Wednesday 25 Azar
    moment = dt.datetime(2026, 12, 16, 20, 30, tzinfo=dt.timezone.utc)
    assert jalali_datetime(moment, tehran) == "چهارشنبه ۲۵ آذر ۱۴۰۵، ساعت ۲۴:۰۰"


# --- digits of other scripts (issue 12, item 4) -------------------------------------------------


@pytest.mark.parametrize("typed", [
    "\uff11\uff14\uff10\uff15/9/5 9:00",  # fullwidth year
    "1405/9/5 \U0001d7d7:00",  # a mathematical nine
    "१४०५/९/५ ९:००",  # Devanagari
])
def test_a_typed_time_in_other_digits_is_refused(typed):
    # int() reads these as numbers; only ASCII, Persian and Arabic-Indic digits are read, as everywhere.
    # (CampaignCalendar.parse_time reads staff's typed times exactly this way.)
    with pytest.raises(ConfigError):
        parse_jalali("time", typed_moment(typed), TEHRAN)
    assert parse_jalali("time", typed_moment("۱۴۰۵/۹/۵، ٩:٠٠"), TEHRAN) == utc(2026, 11, 26, 5, 30)


# -- search_words: the key similar proposals are found by (issue 16 §3) ---------------------------

@pytest.mark.parametrize(("typed", "words"), [
    ("سطل‌های زبالهٔ بیشتر برای بوستان", ["سطل", "پارک"]),  # ZWNJ + plural, diacritic, synonym, phrase
    ("سطلهای زباله برای پارک", ["سطل", "پارک"]),  # the same without ZWNJ
    ("كتابخانه براي بچه‌ها", ["کتابخانه", "کودک"]),  # Arabic kaf and yeh
    ("آسفالت پیادەرو", ["تعمیر", "پیادهرو"]),  # Kurdish heh, آ folded, synonym
    ("پیاده رو های خراب", ["پیادهرو", "تعمیر"]),  # two-word spelling, a suffix on its own
    ("مدرسهٔ ۱۲ فروردین", ["مدرسه", "12", "فروردین"]),  # Persian digits
    ("سگ‌های ولگرد", ["سگ", "ولگرد"]),  # a plural leaves two letters
    ("نصب و ایجاد در محله", []),  # nothing but words every proposal has
])
def test_search_words_fold_what_residents_write_two_ways(typed, words):
    from messages_fa.normalize import search_key, search_words
    assert search_words(typed) == words
    assert search_key(typed) == " ".join(words)
