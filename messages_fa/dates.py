"""Jalali dates in Persian, as people in Tehran read them."""
from __future__ import annotations

import datetime as dt

import jdatetime

from messages_fa.numbers import fa_digits

MONTHS = (
    "فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور",
    "مهر", "آبان", "آذر", "دی", "بهمن", "اسفند",
)
# jdatetime counts weekdays from Saturday, the first day of the Iranian week.
WEEKDAYS = ("شنبه", "یکشنبه", "دوشنبه", "سه‌شنبه", "چهارشنبه", "پنجشنبه", "جمعه")


def _jalali(moment: dt.datetime, tz: dt.tzinfo) -> jdatetime.datetime:
    return jdatetime.datetime.fromgregorian(datetime=moment.astimezone(tz))


def jalali_day(day: dt.date) -> str:
    """A calendar day (already in Tehran's calendar) as «پنجشنبه ۵ آذر ۱۴۰۵»."""
    j = jdatetime.date.fromgregorian(date=day)
    return f"{WEEKDAYS[j.weekday()]} {fa_digits(j.day)} {MONTHS[j.month - 1]} {fa_digits(j.year)}"


def jalali_date(moment: dt.datetime, tz: dt.tzinfo) -> str:
    """«پنجشنبه ۵ آذر ۱۴۰۵»."""
    return jalali_day(moment.astimezone(tz).date())


def jalali_datetime(moment: dt.datetime, tz: dt.tzinfo) -> str:
    """«پنجشنبه ۵ آذر ۱۴۰۵، ساعت ۹:۰۰».

    Midnight is shown as 24:00 of the day that ends: «تا پنجشنبه ۲۶ آذر، ساعت ۰:۰۰» reads as if
    Thursday were still open, «تا چهارشنبه ۲۵ آذر، ساعت ۲۴:۰۰» does not."""
    j = _jalali(moment, tz)
    if j.hour == 0 and j.minute == 0:
        return f"{jalali_date(moment - dt.timedelta(minutes=1), tz)}، ساعت {fa_digits(24)}:{fa_digits('00')}"
    return f"{jalali_date(moment, tz)}، ساعت {fa_digits(j.hour)}:{fa_digits(f'{j.minute:02d}')}"


def jalali_short(moment: dt.datetime, tz: dt.tzinfo) -> str:
    """«۱۴۰۵/۰۹/۰۵ ۰۹:۰۰» — compact, for lists."""
    j = _jalali(moment, tz)
    return fa_digits(f"{j.year}/{j.month:02d}/{j.day:02d} {j.hour:02d}:{j.minute:02d}")
