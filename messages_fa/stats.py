"""What staff read in /stats and /export: the short report, the charts' labels, the workbook's headers.

Numbers arrive as ints (counts) or fractions (participation, 0–1); dates as datetime.date in the
campaign's calendar. Percentages use the Persian decimal separator «٫» and sign «٪».
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import jdatetime

from messages_fa.dates import MONTHS
from messages_fa.markup import Markup
from messages_fa.numbers import fa_digits, fa_number
from messages_fa.texts import PLAN, PLATFORM_NAMES

DECIMAL_SEPARATOR = "٫"
PERCENT = "٪"


def fa_percent(fraction: float) -> str:
    """0.1234 → «۱۲٫۳٪»; 0 → «۰٪»."""
    if fraction <= 0:
        return fa_digits(0) + PERCENT
    return fa_digits(f"{fraction * 100:.1f}".replace(".", DECIMAL_SEPARATOR)) + PERCENT


def day_label(day: dt.date) -> str:
    """«۵ آذر», for a chart's axis."""
    j = jdatetime.date.fromgregorian(date=day)
    return f"{fa_digits(j.day)} {MONTHS[j.month - 1]}"


def day_cell(day: dt.date) -> str:
    """«۱۴۰۵/۰۹/۰۵»: sorts as text in a spreadsheet."""
    j = jdatetime.date.fromgregorian(date=day)
    return fa_digits(f"{j.year}/{j.month:02d}/{j.day:02d}")


# -- refusals -------------------------------------------------------------------------------------

def stats_refused() -> str:
    return "آمار طرح فقط برای مدیران، ناظران محتوا و کارشناسان امکان‌سنجی طرح است."


def export_refused() -> str:
    return "خروجی اکسل فقط برای مدیران طرح است. اگر به آن نیاز دارید، از یکی از مدیران بخواهید."


def export_preparing() -> str:
    return "⏳ فایل خروجی در حال آماده شدن است؛ چند لحظه صبر کنید."


def staff_place_only() -> str:
    return "آمار و خروجی طرح فقط در گفتگوی خصوصی با ربات یا گروه کارشناسان فرستاده می‌شود."


# -- the report -----------------------------------------------------------------------------------

def report(m: Markup, when: str, citizens: int, verified: int, unassigned: int,
           proposals: tuple[int, int, int, int], votes: int, voters: int, participation: float,
           platforms: Sequence[tuple[str, int, int]], today: tuple[int, int, int, int] | None,
           best: Sequence[tuple[str, float]], worst: Sequence[tuple[str, float]], can_export: bool,
           charts_follow: bool) -> str:
    """The short /stats text. ``proposals``: (pending, approved, rejected, on the ballot);
    ``platforms``: (platform, citizens, voters); ``today``: (citizens, verified, proposals, votes);
    ``best``/``worst``: (neighbourhood, participation), names already escaped."""
    pending, approved, rejected, on_ballot = proposals
    lines = [
        f"📊 {m.bold(f'آمار طرح {PLAN}')}",
        f"تا {when}",
        "",
        f"👥 شهروندان: {fa_number(citizens)} (تلفن تأییدشده: {fa_number(verified)})",
        (f"📝 پیشنهادها: {fa_number(pending + approved + rejected)} — در انتظار بررسی {fa_number(pending)}، "
         f"تأییدشده {fa_number(approved)}، ردشده {fa_number(rejected)}؛ در فهرست رأی‌گیری {fa_number(on_ballot)}"),
        f"🗳 رأی‌ها: {fa_number(votes)} از {fa_number(voters)} رأی‌دهنده — مشارکت {fa_percent(participation)}",
    ]
    if platforms:
        lines.append("📱 " + " · ".join(f"{PLATFORM_NAMES.get(p, p)}: {fa_number(c)} شهروند، {fa_number(v)} رأی‌دهنده"
                                        for p, c, v in platforms))
    if today is not None:
        c, v, p, r = today
        lines.append(f"📅 امروز: {fa_number(c)} شهروند تازه، {fa_number(v)} تأیید تلفن، "
                     f"{fa_number(p)} پیشنهاد، {fa_number(r)} رأی")
    if best:
        lines += ["", "بیشترین مشارکت: " + _ranking(best)]
    if worst:
        lines.append("کمترین مشارکت: " + _ranking(worst))
    if unassigned:
        lines.append(f"شهروندان بی‌محله (هنوز محله‌ای انتخاب نکرده‌اند): {fa_number(unassigned)}")
    if charts_follow or can_export:
        lines.append("")
    if charts_follow:
        lines.append("نمودار محله‌ها و نمودار روزبه‌روز در پیام‌های بعدی می‌آیند.")
    if can_export:
        lines.append("فایل اکسل همهٔ پیشنهادها و آمار: /export")
    return "\n".join(lines)


def _ranking(items: Sequence[tuple[str, float]]) -> str:
    return "، ".join(f"{name} {fa_percent(share)}" for name, share in items)


def neighbourhoods_heading() -> str:
    return "محله‌ها (شهروندان، تلفن تأییدشده، پیشنهادها، رأی‌ها، رأی‌دهندگان، مشارکت):"


def neighbourhood_line(name: str, citizens: int, verified: int, proposals: int, votes: int, voters: int,
                       participation: float) -> str:
    return (f"{name}: {fa_number(citizens)} شهروند، {fa_number(verified)} تأییدشده، {fa_number(proposals)} پیشنهاد، "
            f"{fa_number(votes)} رأی از {fa_number(voters)} رأی‌دهنده — مشارکت {fa_percent(participation)}")


def days_heading(count: int) -> str:
    return f"{fa_digits(count)} روز اخیر (شهروندان تازه، تأیید تلفن، پیشنهادها، رأی‌ها):"


def day_line(day: dt.date, citizens: int, verified: int, proposals: int, votes: int) -> str:
    return (f"{day_label(day)}: {fa_number(citizens)} شهروند، {fa_number(verified)} تأیید، "
            f"{fa_number(proposals)} پیشنهاد، {fa_number(votes)} رأی")


# -- the charts -----------------------------------------------------------------------------------

CHART_HOODS_TITLE = "شهروندان و رأی‌دهندگان هر محله"
CHART_DAYS_TITLE = "مشارکت روزبه‌روز"
CHART_CITIZENS = "شهروندان"
CHART_VOTERS = "رأی‌دهندگان"
CHART_PEOPLE = "نفر"
CHART_PARTICIPATION = f"مشارکت ({PERCENT})"
CHART_NEW_CITIZENS = "شهروندان تازه"
CHART_VERIFIED = "تأیید تلفن"
CHART_PROPOSALS = "پیشنهادها"
CHART_VOTES = "رأی‌ها"
CHART_PER_DAY = "در روز"
CHART_EMPTY = "هنوز داده‌ای برای نمایش نیست."


def chart_subtitle(when: str) -> str:
    return f"طرح {PLAN} — تا {when}"


def chart_caption_hoods() -> str:
    return "شهروندان و رأی‌دهندگان هر محله؛ درصد کنار هر محله، مشارکت آن است (رأی‌دهندگان به ازای هر شهروند)."


def chart_hood_title(name: str) -> str:
    return f"پیشنهادها و رأی‌های محلهٔ {name}، روزبه‌روز"


def chart_caption_hood(name: str) -> str:
    return f"پیشنهادهای ثبت‌شده و رأی‌های هر روز در محلهٔ {name}."


HOOD_CHART = "📈 نمودار یک محله…"


def choose_hood_chart() -> str:
    return "نمودار روزبه‌روزِ پیشنهادها و رأی‌های کدام محله را می‌خواهید؟"


def chart_caption_days() -> str:
    return "بالا: مشارکت تا هر روز؛ پایین: شهروندان تازه، تأیید تلفن، پیشنهادها و رأی‌های هر روز."


# -- the export -----------------------------------------------------------------------------------

def export_caption(when: str) -> str:
    return (f"📥 خروجی طرح {PLAN} تا {when}: پیشنهادها، محله‌ها، پیام‌رسان‌ها، سفیران و آمار روزانه. "
            "شمارهٔ تلفن و شناسهٔ کاربران در آن نیست.")


def export_csv_caption() -> str:
    return "همان جدول‌ها به صورت CSV (یک فایل برای هر برگه، با فارسی سالم در اکسل)."


SHEET_PROPOSALS = "پیشنهادها"
SHEET_NEIGHBOURHOODS = "محله‌ها"
SHEET_PLATFORMS = "پیام‌رسان‌ها"
SHEET_AMBASSADORS = "سفیران"
SHEET_DAYS = "روزانه"

PROPOSAL_STATUS = {"pending": "در انتظار بررسی", "approved": "تأییدشده", "rejected": "ردشده"}
FEASIBILITY = {"feasible": "اجراپذیر", "not_feasible": "اجراناپذیر", None: "بررسی نشده"}
AMBASSADOR_STATUS = {"draft": "پیش‌نویس", "pending": "در انتظار بررسی", "approved": "فعال", "rejected": "ردشده",
                     "suspended": "معلق", "removed": "حذف‌شده"}
NO_NEIGHBOURHOOD = "بدون محله"
TOTAL = "جمع"


def proposal_headers(money_unit: str) -> tuple[str, ...]:
    # The code twice: in Persian digits as staff read it, in Latin digits as a search box is typed.
    # The time twice: a real date-time (sorts and filters as one) and the Jalali text beside it.
    return ("شناسه", "کد پیگیری", CODE_LATIN, "محله", "دسته", "عنوان", "وضعیت", "دلیل رد", "امکان‌سنجی",
            "توضیح امکان‌سنجی", f"هزینه ({money_unit})", "رأی‌ها", "تکراریِ پیشنهاد", "زمان ثبت (تهران)",
            "زمان ثبت (شمسی)")


CODE_LATIN = "کد پیگیری (رقم لاتین)"


NEIGHBOURHOOD_HEADERS = ("محله", "شهروندان", "تلفن تأییدشده", "پیشنهادها", "در انتظار بررسی", "تأییدشده", "ردشده",
                         "در فهرست رأی‌گیری", "رأی‌ها", "رأی‌دهندگان", "مشارکت")
PLATFORM_HEADERS = ("پیام‌رسان", "شهروندان", "تلفن تأییدشده", "پیشنهادها", "رأی‌ها", "رأی‌دهندگان", "مشارکت")
AMBASSADOR_HEADERS = ("نام", "محله", "وضعیت", "پیوسته از لینک", "تلفن تأییدشده", "پیشنهاد داده", "رأی داده")
DAY_HEADERS = ("تاریخ", "تاریخ (شمسی)", "شهروندان تازه", "تأیید تلفن", "پیشنهادها", "رأی‌ها", "رأی‌دهندگان تازه",
               "شهروندان تا این روز", "رأی‌دهندگان تا این روز", "مشارکت تا این روز")


def platform_name(platform: str) -> str:
    return PLATFORM_NAMES.get(platform, platform)
