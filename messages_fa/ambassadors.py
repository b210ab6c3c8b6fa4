"""What ambassadors (سفیران), the people they invite, and staff read about the ambassador programme."""
from __future__ import annotations

import datetime as dt

import jdatetime

from messages_fa.dates import MONTHS
from messages_fa.fit import fit_lines
from messages_fa.markup import Markup, PlainMarkup
from messages_fa.numbers import fa_digits, fa_number
from messages_fa.texts import ORGANISER, PLAN, PLATFORM_NAMES, more_left_out

# -- buttons ---------------------------------------------------------------------------------------

MY_LINKS = "🔗 لینک‌های من"
INVITE_CARD = "📨 کارت دعوت برای گروه‌ها"
POSTER = "🖼 پوستر QR برای چاپ"
MY_FIGURES = "📊 آمار من"
NEW_LINK = "🔄 لینک تازه (لینک قبلی باطل می‌شود)"
OPEN_BOT = f"ورود به ربات {PLAN}"
APPROVE = "✅ پذیرش سفیر"
REJECT = "❌ رد درخواست"
SUSPEND = "⏸ تعلیق"
REINSTATE = "▶️ بازگرداندن"
REMOVE = "🗑 حذف از سفیران"
REVOKE = "🔄 باطل کردن لینک"
PREVIOUS = "◀️ قبلی"
BACK = "↩️ بازگشت"
NEXT = "بعدی ▶️"


def standing_button(number: int, name: str, neighbourhood: str, joined: int) -> str:
    return f"{fa_digits(number)}. {name} — {neighbourhood} ({fa_number(joined)})"


# -- the form ----------------------------------------------------------------------------------------

def ask_name() -> str:
    return (f"🤝 سفیران {PLAN} کسانی‌اند که دعوت طرح را به گروه‌ها و کانال‌های محلهٔ خود می‌برند و پوستر آن را "
            "در مسجد، مدرسه و سرای محله نصب می‌کنند.\n\n"
            "برای سفیر شدن، چهار پرسش کوتاه را پاسخ دهید (برای انصراف /cancel). "
            "گام ۱ از ۴: نام و نام خانوادگی خود را بنویسید.")


def ask_neighbourhood() -> str:
    return "گام ۲ از ۴: سفیر کدام محله هستید؟"


def ask_groups() -> str:
    return ("گام ۳ از ۴: گروه‌ها یا کانال‌هایی را که در آن‌ها فعالید بنویسید (نام یا لینک، هر کدام در یک خط)؛ "
            "مثلاً گروه همسایگان یا کانال خبری محله.")


def ask_phone() -> str:
    return ("گام ۴ از ۴: شمارهٔ تلفن همراه خود را با دکمهٔ «📱 ارسال شمارهٔ تلفن» بفرستید.\n\n"
            "توجه: برخلاف رأی‌دهندگان، شمارهٔ سفیران برای کارشناسان طرح قابل مشاهده است تا در صورت نیاز "
            "با شما تماس بگیرند. اگر موافق نیستید، /cancel را بفرستید؛ پاسخ‌هایتان نگه داشته می‌شود.")


def name_invalid(too_long: bool, limit: int) -> str:
    if too_long:
        return f"نام از {fa_number(limit)} حرف بلندتر است. لطفاً کوتاه‌تر بنویسید."
    return "لطفاً نام و نام خانوادگی خود را کامل بنویسید."


def groups_invalid(too_long: bool, limit: int) -> str:
    if too_long:
        return f"این متن از {fa_number(limit)} حرف بلندتر است. لطفاً کوتاه‌تر بنویسید."
    return "لطفاً دست‌کم نام یک گروه یا کانال را بنویسید."


def text_expected() -> str:
    return "در این گام یک متن لازم است. لطفاً بنویسید، یا «بازگشت» را بزنید."


def phone_expected() -> str:
    return "لطفاً شمارهٔ خود را با دکمهٔ «📱 ارسال شمارهٔ تلفن» بفرستید، یا «بازگشت» را بزنید."


def phone_not_yours() -> str:
    return "فقط شمارهٔ خود شما پذیرفته می‌شود. لطفاً دکمهٔ «📱 ارسال شمارهٔ تلفن» را بزنید."


def phone_not_iranian() -> str:
    return "این شماره یک تلفن همراه ایران نیست. لطفاً با شمارهٔ همراه ایرانی خود درخواست دهید."


def submitted() -> str:
    return ("✅ درخواست سفیری شما ثبت شد و برای کارشناسان طرح فرستاده شد. نتیجه را همین‌جا به شما خبر می‌دهیم.")


def still_pending() -> str:
    return "درخواست سفیری شما ثبت شده و در انتظار بررسی کارشناسان است. نتیجه را همین‌جا خبر می‌دهیم."


def _office(support: str) -> str:
    """«contact the office», with its line (profile.support) when one is configured."""
    return f"برای پرسش با دفتر طرح تماس بگیرید: {support}" if support else "برای پرسش با دفتر طرح تماس بگیرید."


def suspended(support: str = "") -> str:
    return f"سفیری شما فعلاً معلق است و لینک‌هایتان کسی را ثبت نمی‌کنند. {_office(support)}"


def approved(neighbourhood: str) -> str:
    return (f"🎉 درخواست شما پذیرفته شد: اکنون سفیر {PLAN} در محلهٔ {neighbourhood} هستید.\n\n"
            "از منوی سفیر، لینک شخصی، کارت دعوت برای گروه‌ها و پوستر QR را بگیرید.")


def rejected(support: str = "") -> str:
    return f"درخواست سفیری شما این بار پذیرفته نشد. از همراهی شما سپاسگزاریم؛ {_office(support)}"


def removed() -> str:
    return "شما دیگر در فهرست سفیران طرح نیستید و لینک‌هایتان باطل شده است. از همراهی‌تان سپاسگزاریم."


def reinstated(neighbourhood: str) -> str:
    return f"سفیری شما در محلهٔ {neighbourhood} دوباره فعال شد. لینک تازهٔ خود را از منوی سفیر بگیرید."


# -- the ambassador's panel ----------------------------------------------------------------------------

def panel(m: Markup, name: str, neighbourhood: str) -> str:
    return f"🤝 منوی سفیر — {m.bold(m.esc(name))}، محلهٔ {m.esc(neighbourhood)}\n\nچه کاری برایتان انجام دهم؟"


def links(m: Markup, platform_links: list[tuple[str, str]]) -> str:
    lines = [f"{PLATFORM_NAMES[name]}:\n{url}" for name, url in platform_links]
    return ("🔗 لینک‌های شخصی شما — هر کس برای نخستین بار با یکی از این‌ها وارد ربات شود، در آمار شما "
            "شمرده می‌شود:\n\n" + "\n\n".join(lines) +
            "\n\nاگر لینکی جایی رفته که نباید، «لینک تازه» بگیرید: لینک قبلی باز هم ربات را باز می‌کند، ولی دیگر به نام شما ثبت نمی‌شود.")


def new_link_made() -> str:
    return "لینک تازه ساخته شد و لینک قبلی دیگر به نام شما ثبت نمی‌شود. کارت و پوستر را هم دوباره بگیرید."


def card_intro() -> str:
    return "کارت زیر را به گروه‌ها و کانال‌های محله هدایت (فوروارد) کنید؛ دکمهٔ آن پس از هدایت هم کار می‌کند:"


def invitation(m: Markup, neighbourhood: str, links: list[tuple[str, str]], dates: str = "") -> str:
    """The card ambassadors forward into neighbourhood groups: it must read well on its own.
    ``links``: (messenger, link), Bale first, so a neighbour on either messenger can join;
    ``dates``: campaign_dates(), when proposals and votes are taken."""
    shown = "\n".join(f"{PLATFORM_NAMES[name]}: {url}" for name, url in links)
    return (f"📣 {m.bold('همسایه‌های ' + m.esc(neighbourhood) + ' عزیز')}\n\n"
            f"در طرح {PLAN} از {ORGANISER}، ساکنان هر محلهٔ منطقهٔ ۱ تهران خودشان برای محله پیشنهاد می‌دهند و با "
            f"رأی خودشان تعیین می‌کنند بودجهٔ محله صرف کدام پروژه‌ها شود.\n\n"
            + (f"{dates}\n\n" if dates else "")
            + f"برای ثبت پیشنهاد و رأی، دکمهٔ زیر را بزنید یا یکی از این پیوندها را باز کنید:\n{shown}")


def poster_caption(neighbourhood: str, platforms: list[str]) -> str:
    names = " و ".join(PLATFORM_NAMES[p] for p in platforms)
    return f"🖼 پوستر QR محلهٔ {neighbourhood} ({names}) — برای چاپ در اندازهٔ A5."


def poster_neighbourhood(neighbourhood: str) -> str:
    return f"محلهٔ {neighbourhood}"


def poster_lines(dates: tuple[str, ...] = ()) -> tuple[str, ...]:
    """``dates``: campaign_date_lines(), one line per phase."""
    return ("با دوربین گوشی یکی از کدها را اسکن کنید", "برای محلهٔ خود پیشنهاد بدهید و رأی بدهید", *dates)


def _day(day: dt.date, year: bool = True) -> str:
    j = jdatetime.date.fromgregorian(date=day)
    return f"{fa_digits(j.day)} {MONTHS[j.month - 1]}" + (f" {fa_digits(j.year)}" if year else "")


def _span(first: dt.date, last: dt.date) -> str:
    """«۵ تا ۲۵ آذر ۱۴۰۵», «۲۵ آذر تا ۱۰ دی ۱۴۰۵», or with both years when they differ."""
    a, b = jdatetime.date.fromgregorian(date=first), jdatetime.date.fromgregorian(date=last)
    if (a.year, a.month) == (b.year, b.month):
        return f"{fa_digits(a.day)} تا {_day(last)}"
    return f"{_day(first, year=a.year != b.year)} تا {_day(last)}"


def campaign_date_lines(proposals: tuple[dt.date, dt.date], voting: tuple[dt.date, dt.date]) -> tuple[str, str]:
    """The campaign's days for posters (first and last day of each phase, Tehran calendar)."""
    return f"ثبت پیشنهاد: {_span(*proposals)}", f"رأی‌گیری: {_span(*voting)}"


def campaign_dates(proposals: tuple[dt.date, dt.date], voting: tuple[dt.date, dt.date]) -> str:
    """The same on one line, for the invitation card."""
    return " — ".join(campaign_date_lines(proposals, voting))


def figures(total: tuple[int, int, int, int], days: list[tuple[str, tuple[int, int, int, int]]]) -> str:
    joined, verified, proposed, voted = total
    lines = ["📊 آمار لینک‌های شما:",
             f"پیوسته از طریق شما: {fa_number(joined)} نفر",
             f"از این میان، تلفن تأییدشده: {fa_number(verified)}",
             f"پیشنهاد داده‌اند: {fa_number(proposed)}",
             f"رأی داده‌اند: {fa_number(voted)}"]
    if days:
        lines += ["", "روزبه‌روز (روز پیوستن — پیوسته / تأییدشده / پیشنهاد / رأی):"]
    else:
        lines += ["", "هنوز کسی از طریق لینک‌های شما نپیوسته است. کارت دعوت را به گروه‌های محله بفرستید."]
    # A long campaign has more days than one message holds: the latest ones are shown.
    return fit_lines(PlainMarkup(), lines,
                     [f"{day}: {fa_number(j)} / {fa_number(v)} / {fa_number(p)} / {fa_number(r)}"
                      for day, (j, v, p, r) in days],
                     ["", "(فقط تعداد؛ اینکه هر کس به چه رأی داده هرگز نشان داده نمی‌شود.)"],
                     more_earlier_days, keep_last=True)


def more_earlier_days(count: int) -> str:
    return f"… و {fa_number(count)} روز پیش‌تر"


def staff_place_only() -> str:
    return "فهرست سفیران (با شمارهٔ تلفن‌ها) فقط در گفتگوی خصوصی با ربات یا گروه کارشناسان نشان داده می‌شود."


def not_an_ambassador() -> str:
    return "این دکمه فقط برای سفیران پذیرفته‌شده است."


# -- a person who came through a link ---------------------------------------------------------------

def joined_through_link(m: Markup, neighbourhood: str) -> str:
    return (f"محلهٔ شما {m.bold(m.esc(neighbourhood))} در نظر گرفته شد (از لینک دعوت). اگر ساکن محلهٔ دیگری "
            "هستید، «📍 تغییر محله» را بزنید.")


# -- staff ------------------------------------------------------------------------------------------

def application(m: Markup, name: str, neighbourhood: str, groups: str, phone: str, platform: str) -> str:
    return (f"🤝 {m.bold('درخواست سفیری')}\n"
            f"نام: {m.esc(name)}\n"
            f"محله: {m.esc(neighbourhood)}\n"
            f"تلفن: {phone}\n"
            f"پیام‌رسان: {PLATFORM_NAMES[platform]}\n"
            f"گروه‌ها و کانال‌ها:\n{m.esc(groups)}")


def decided(by: str, outcome: str) -> str:
    names = {"approved": "✅ پذیرفته شد", "rejected": "❌ رد شد", "suspended": "⏸ معلق شد",
             "removed": "🗑 حذف شد"}
    return f"{names.get(outcome, outcome)} — {by}"


def decision_saved() -> str:
    return "ثبت شد."


def already_decided() -> str:
    return "این درخواست یا سفیر پیش‌تر تعیین تکلیف شده است."


def overview(m: Markup, per_neighbourhood: list[str], leaders: list[str], pending: int, flagged: int) -> str:
    lines = [f"🤝 {m.bold('سفیران طرح')}"]
    if pending:
        lines.append(f"درخواست‌های در انتظار بررسی: {fa_number(pending)} (کارت هر کدام در گروه کارشناسان است)")
    if flagged:
        lines.append(f"⚠️ سفیرانی با پیوستن‌های مشکوک: {fa_number(flagged)}")
    if leaders:
        lines += ["", m.bold("پیشتازان (شماره تأییدشده / پیوسته):"), *leaders]
    if per_neighbourhood:
        lines += ["", m.bold("به تفکیک محله (سفیران — پیوسته / تأییدشده / پیشنهاد / رأی):")]
    else:
        lines += ["", "هنوز سفیر پذیرفته‌شده‌ای نیست."]
    tail = ["", "برای تعلیق، حذف یا باطل کردن لینک یک سفیر، او را از دکمه‌های زیر انتخاب کنید."]
    # Many neighbourhoods with ambassadors would not fit one message: the rest are counted.
    return fit_lines(m, lines, per_neighbourhood, tail, more_left_out)


def leader_line(number: int, name: str, neighbourhood: str, verified: int, joined: int) -> str:
    return f"{fa_digits(number)}. {name} ({neighbourhood}): {fa_number(verified)} / {fa_number(joined)}"


def neighbourhood_line(neighbourhood: str, ambassadors: int, total: tuple[int, int, int, int]) -> str:
    joined, verified, proposed, voted = total
    return (f"{neighbourhood}: {fa_number(ambassadors)} سفیر — {fa_number(joined)} / {fa_number(verified)} / "
            f"{fa_number(proposed)} / {fa_number(voted)}")


def staff_card(m: Markup, name: str, neighbourhood: str, phone: str, status: str, total: tuple[int, int, int, int],
               flagged: bool) -> str:
    joined, verified, proposed, voted = total
    state = {"approved": "فعال", "suspended": "معلق", "removed": "حذف‌شده"}.get(status, status)
    lines = [f"🤝 {m.bold(m.esc(name))} — محلهٔ {m.esc(neighbourhood)} ({state})", f"تلفن: {phone}",
             f"پیوسته: {fa_number(joined)}، تأییدشده: {fa_number(verified)}، پیشنهاد: {fa_number(proposed)}، "
             f"رأی: {fa_number(voted)}"]
    if flagged:
        lines.append("⚠️ پیوستن‌های این سفیر مشکوک به ساختگی بودن است.")
    return "\n".join(lines)


def suspicious(name: str, neighbourhood: str, joins: int, minutes: int) -> str:
    return (f"⚠️ پیوستن‌های مشکوک: دست‌کم {fa_number(joins)} حساب تازه در {fa_number(minutes)} دقیقه از لینک "
            f"سفیر «{name}» (محلهٔ {neighbourhood}) وارد شده‌اند و هیچ‌کدام شماره تأیید نکرده‌اند. "
            "جزئیات: /ambassadors")
