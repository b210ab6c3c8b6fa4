"""The staff console: the review queue, feasibility and cost, the audit log."""
from __future__ import annotations

import contextlib
import datetime as dt

from messages_fa.broadcasts import BOUNDARY_NAMES
from messages_fa.dates import jalali_datetime
from messages_fa.fit import fit_lines, shorten
from messages_fa.markup import Markup
from messages_fa.numbers import fa_digits, fa_number
from messages_fa.results import RULE_NAMES
from messages_fa.texts import (
    money,  # noqa: F401 — one way to show a cost, used as staff.money
    more_left_out,
)

# -- buttons --------------------------------------------------------------------------------------

APPROVE = "✅ تأیید"
REJECT = "❌ رد…"
CATEGORY = "🗂 اصلاح دسته…"
DUPLICATE = "👥 تکراری…"
NEXT = "⏭ بعدی"
OTHER_REASON = "✍️ دلیل دیگر (نوشتن)"
FEASIBLE = "✅ اجراپذیر…"
NOT_FEASIBLE = "🚫 اجراناپذیر…"
OLDER = "◀️ قدیمی‌تر"
ENTER_COST = "💰 ثبت هزینهٔ برآوردی…"

ROLE_NAMES = {"admin": "مدیر", "moderator": "ناظر محتوا", "reviewer": "کارشناس امکان‌سنجی"}


def not_for_you() -> str:
    return "این کار برای نقش شما در طرح نیست."


def staff_place_only() -> str:
    return "این بخش فقط در گفتگوی خصوصی با ربات یا گروه کارشناسان نشان داده می‌شود."


def continue_privately() -> str:
    return "برای نوشتن پاسخ، این کار را در گفتگوی خصوصی با ربات انجام دهید (/review یا /feasibility)."





# -- the review queue ------------------------------------------------------------------------------

def queue_empty() -> str:
    return "✅ صف بررسی خالی است: پیشنهادی در انتظار نیست."


def queue_card(m: Markup, card: str, waiting: int) -> str:
    return f"{card}\n\n📥 در صف: {fa_number(waiting)} پیشنهاد"


def choose_reason() -> str:
    return "دلیل رد را انتخاب کنید، یا «دلیل دیگر» را بزنید و بنویسید. نویسنده دلیل را می‌بیند."


def choose_category() -> str:
    return "دستهٔ درست این پیشنهاد را انتخاب کنید:"


def ask_duplicate_code() -> str:
    return "کد پیگیری پیشنهاد اصلی (که این یکی تکرار آن است) را بنویسید (یا /cancel):"


def ask_duplicate_code_for(code: str) -> str:
    """Asked in the private chat of a moderator who pressed «duplicate» on a card in the staff chat."""
    return (f"پیشنهاد {fa_digits(code)} را تکراری علامت زدید. کد پیگیری پیشنهاد اصلی (که این یکی تکرار آن است) "
            "را همین‌جا بنویسید (یا /cancel):")


def asked_privately() -> str:
    return "کد پیشنهاد اصلی را در گفتگوی خصوصی با ربات بنویسید."


def duplicate_code_unknown() -> str:
    return "پیشنهادی با این کد پیگیری پیدا نشد (یا همین پیشنهاد است). کد را دوباره بنویسید یا /cancel را بفرستید."


def duplicate_reason(code: str, title: str) -> str:
    """Shown to the author as the rejection reason: they learn which proposal it repeats."""
    return f"این پیشنهاد تکرار پیشنهاد «{title}» با کد پیگیری {fa_digits(code)} است که پیش‌تر ثبت شده است."


def category_changed_for_author(m: Markup, title: str, code: str, category: str) -> str:
    return (f"دستهٔ پیشنهاد شما «{m.esc(title)}» (کد پیگیری {fa_digits(code)}) به «{m.esc(category)}» اصلاح شد. "
            "بررسی آن ادامه دارد.")


def saved_next() -> str:
    return "ثبت شد. پیشنهاد بعدی:"


def saved() -> str:
    return "ثبت شد."


def saved_and_queue_empty() -> str:
    """After the last one of the review queue: never «the next one:» followed by nothing."""
    return f"ثبت شد. {queue_empty()}"


def already_done() -> str:
    return "این پیشنهاد پیش‌تر تعیین تکلیف شده است (شاید همکارتان زودتر اقدام کرد)."


# -- feasibility and cost -----------------------------------------------------------------------

def backlog(m: Markup, per_neighbourhood: list[tuple[str, int]]) -> str:
    if not per_neighbourhood:
        return "✅ همهٔ پیشنهادهای تأییدشده امکان‌سنجی و برآورد هزینه شده‌اند."
    return fit_lines(m, [m.bold("پیشنهادهای تأییدشده‌ای که هنوز امکان‌سنجی یا برآورد هزینه می‌خواهند:")],
                     [f"{m.esc(hood)}: {fa_number(n)}" for hood, n in per_neighbourhood], [], more_left_out)


FEASIBILITY_HEADING = "🔎 امکان‌سنجی و برآورد هزینه"


def all_reviewed(saved: bool = False) -> str:
    """/feasibility when nothing is left to judge (after a decision: it was saved, and that was the last)."""
    return ("ثبت شد. " if saved else "") + "✅ همهٔ پیشنهادها بررسی شده‌اند: پیشنهاد تأییدشده‌ای بی‌امکان‌سنجی یا بی‌هزینه نمانده است."


def review_footer(feasibility: str | None) -> str:
    """Under a reviewer's card (its footer): how far the review has come."""
    if feasibility == "feasible":
        return "اجراپذیر شمرده شده؛ هزینهٔ برآوردی هنوز ثبت نشده است."
    return ""


def ask_note(feasible: bool) -> str:
    what = "چرا اجراپذیر است (و چه شرایطی دارد)" if feasible else "چرا اجراپذیر نیست"
    return f"در یکی دو جمله بنویسید {what}. نویسندهٔ پیشنهاد این توضیح را می‌بیند. (یا /cancel)"


def note_too_long(limit: int) -> str:
    return f"توضیح حداکثر {fa_number(limit)} حرف باشد. لطفاً کوتاه‌تر بنویسید و دوباره بفرستید (یا /cancel)."


def ask_cost(unit: str) -> str:
    return (f"هزینهٔ برآوردی اجرای این پیشنهاد را به {unit} بنویسید، مثلاً ۱۲٬۵۰۰٬۰۰۰ یا 12500000. (یا /cancel)")


def cost_invalid(unit: str) -> str:
    return f"این مبلغ خوانده نشد. فقط عدد مبلغ به {unit} را بنویسید، مثلاً ۱۲٬۵۰۰٬۰۰۰ (یا /cancel)."


def reviewing_closed() -> str:
    return "رأی‌گیری آغاز شده است؛ امکان‌سنجی و هزینهٔ پیشنهادها دیگر تغییر نمی‌کند."


def told_feasible(m: Markup, title: str, code: str, cost: str, note: str) -> str:
    return (f"✅ پیشنهاد شما «{m.esc(title)}» (کد پیگیری {fa_digits(code)}) اجراپذیر شناخته شد. "
            f"هزینهٔ برآوردی: {cost}.\nتوضیح کارشناس: {m.esc(note)}\n\nاین پیشنهاد در رأی‌گیری محلهٔ شما قرار می‌گیرد.")


def told_not_feasible(m: Markup, title: str, code: str, note: str) -> str:
    return (f"پیشنهاد شما «{m.esc(title)}» (کد پیگیری {fa_digits(code)}) پس از بررسی کارشناسی اجراپذیر شناخته نشد "
            f"و در رأی‌گیری نخواهد بود.\nتوضیح کارشناس: {m.esc(note)}\n\nاز مشارکت شما سپاسگزاریم.")


# -- the audit log ------------------------------------------------------------------------------

ACTION_NAMES = {
    "approve": "تأیید پیشنهاد", "reject": "رد پیشنهاد", "category": "اصلاح دسته", "duplicate": "تکراری",
    "feasibility": "امکان‌سنجی", "cost": "برآورد هزینه", "ambassador": "سفیر", "broadcast": "پیام همگانی",
    "calendar": "تقویم", "export": "خروجی اکسل", "results": "نتایج",
}
AUDIT_BY_PERSON = "👤 کارهای یک نفر"
AUDIT_BY_ACTION = "🏷 یک نوع کار"
AUDIT_BY_DAY = "📅 یک روز"
AUDIT_ALL = "🧾 همهٔ رویدادها"
AUDIT_VALUE = 300  # a reason or a note is shortened to this in the log's line: a page is one message

# The log stores plain English words (stable for tools); staff read them in Persian.
_VALUE_NAMES = {
    "pending": "در انتظار", "approved": "تأییدشده", "rejected": "ردشده", "feasible": "اجراپذیر",
    "not_feasible": "اجراناپذیر", "draft": "پیش‌نویس", "scheduled": "زمان‌بندی‌شده", "sending": "در حال ارسال",
    "cancelled": "لغوشده", "suspended": "معلق", "removed": "حذف‌شده", "link": "لینک", "new link": "لینک تازه",
    "done": "فرستاده‌شده",
}
_PLATFORM_NAMES = {"telegram": "تلگرام", "bale": "بله"}
_TOOL_NAMES = {"operator": "مسئول فنی (خط فرمان)"}


def _value(raw: str | None) -> str:
    if not raw:
        return "—"
    head, sep, rest = raw.partition(": ")
    return _VALUE_NAMES.get(head, head) + (sep + rest if sep else "")


def staff_name(m: Markup, ref: str, first_name: str | None, username: str | None) -> str:
    """A staff member as the log names them: «مریم (@maryam_r)», the id when no name is known yet
    («شناسهٔ ۹۱۰ در تلگرام»), or the operator's tool."""
    if first_name:
        return m.esc(first_name) + (f" (@{m.esc(username)})" if username else "")
    platform, sep, user_id = ref.partition(":")
    if sep and user_id.isdigit():
        return f"{'@' + m.esc(username) if username else 'شناسهٔ ' + fa_digits(user_id)} در {_PLATFORM_NAMES.get(platform, platform)}"
    return _TOOL_NAMES.get(ref, m.esc(ref))


def _moment(raw: str | None, tz) -> str:
    """A stored ISO moment as «سه‌شنبه ۱۸ آذر ۱۴۰۵، ساعت ۹:۰۰» in Tehran; anything else as it is."""
    if not raw:
        return "—"
    try:
        return jalali_datetime(dt.datetime.fromisoformat(raw), tz)
    except ValueError:
        return fa_digits(raw)


def _cost(raw: str | None, unit: str) -> str | None:
    return money(int(raw), unit) if raw and raw.isdigit() else None


def audit_entry(m: Markup, at: dt.datetime, who: str, action: str, target: str, before: str | None,
                after: str | None, unit: str, categories: dict[str, str], tz: dt.tzinfo) -> str:
    """One line a person reads without a glossary: when (Tehran, with the weekday), who, what they
    did. ``who`` is ready (staff_name); ``target``, ``before`` and ``after`` are the log's raw values
    (escaped here); ``categories``: category id → name."""
    sentence = _sentence(m, at, action, target, before, after, unit, categories, tz)
    return f"▫️ {jalali_datetime(at, tz)} — {who}: {sentence}"


def _sentence(m: Markup, at: dt.datetime, action: str, target: str, before: str | None, after: str | None,
              unit: str, categories: dict[str, str], tz: dt.tzinfo) -> str:
    kind, _, rest = target.partition(" ")
    code = fa_digits(m.esc(rest)) if kind == "proposal" else ""
    head, _, detail = (after or "").partition(": ")
    quoted = f"«{m.esc(shorten(detail, AUDIT_VALUE))}»"
    if action == "approve":
        return f"پیشنهاد {code} را تأیید کرد."
    if action == "reject":
        return f"پیشنهاد {code} را رد کرد؛ دلیل: {quoted}" if detail else f"پیشنهاد {code} را رد کرد."
    if action == "duplicate":
        original = detail.removeprefix("duplicate of ")
        return f"پیشنهاد {code} را تکرار پیشنهاد {fa_digits(m.esc(original))} دانست و رد کرد."
    if action == "category":
        def name(raw: str | None) -> str:
            return m.esc(categories.get(raw or "", raw or "—"))
        return f"دستهٔ پیشنهاد {code} را از «{name(before)}» به «{name(after)}» تغییر داد."
    if action == "feasibility":
        verdict = "اجراپذیر" if head == "feasible" else "اجراناپذیر"
        earlier = f" (پیش‌تر: {_value(before)})" if before else ""
        return f"پیشنهاد {code} را {verdict} دانست{earlier}؛ توضیح: {quoted}"
    if action == "cost":
        new, old = _cost(after, unit), _cost(before, unit)
        earlier = f" (پیش‌تر: {old})" if old else ""
        return f"هزینهٔ برآوردی پیشنهاد {code} را {new or fa_digits(m.esc(after or '—'))} ثبت کرد{earlier}."
    if action == "calendar":
        boundary = BOUNDARY_NAMES.get(target, m.esc(target))
        return f"«{boundary}» را از {_moment(before, tz)} به {_moment(after, tz)} منتقل کرد."
    if action == "broadcast":
        number = fa_digits(m.esc(rest))
        if (after or "").startswith("scheduled for "):
            raw = after.removeprefix("scheduled for ")
            with contextlib.suppress(ValueError):
                if dt.datetime.fromisoformat(raw) <= at + dt.timedelta(minutes=1):  # «send now»
                    return f"پیام همگانی شمارهٔ {number} را فرستاد."
            return f"پیام همگانی شمارهٔ {number} را برای {_moment(raw, tz)} زمان‌بندی کرد."
        if after == "cancelled":
            return f"پیام همگانی شمارهٔ {number} را لغو کرد."
        return f"وضعیت پیام همگانی شمارهٔ {number} را از «{_value(before)}» به «{_value(after)}» برد."
    if action == "results":
        number = fa_digits(m.esc(rest))
        if after == "published":
            return f"نتایج (محاسبهٔ شمارهٔ {number}) را منتشر کرد."
        return f"نتایج را با «{RULE_NAMES.get(after or '', m.esc(after or ''))}» محاسبه کرد (محاسبهٔ شمارهٔ {number})."
    if action == "ambassador":
        who = m.esc(rest.partition(" (")[2].removesuffix(")") or rest)
        if after == "new link":
            return f"برای سفیر «{who}» لینک تازه ساخت (لینک پیشین دیگر کار نمی‌کند)."
        return f"وضعیت سفیر «{who}» را از «{_value(before)}» به «{_value(after)}» تغییر داد."
    if action == "export":
        return f"خروجی اکسل گرفت ({m.esc(target)})."
    change = f": {m.esc(_value(before))} ← {m.esc(_value(after))}" if before or after else ""
    return fa_digits(f"{ACTION_NAMES.get(action, m.esc(action))} — {m.esc(target)}{change}")


def audit_text(entries: list[str], only: str | None = None) -> str:
    heading = "🧾 دفتر رویدادهای کارکنان (تازه‌ترین در بالا)"
    if only:
        heading += f"\nفقط: {only}"
    if not entries:
        return heading + "\n\n" + ("رویدادی با این انتخاب نیست." if only else "دفتر رویدادها خالی است.")
    return heading + "\n\n" + "\n".join(entries)


def audit_choose(what: str) -> str:
    """Above the buttons that narrow the log: ``what`` is p (a person), a (an action) or d (a day)."""
    return {"p": "کارهای کدام نفر را ببینید؟", "a": "کدام نوع کار را ببینید؟",
            "d": "رویدادهای کدام روز را ببینید؟ (به وقت تهران)"}[what]


# -- similar proposals on the /review card (issue 16 §3) -----------------------------------------

def likely_duplicates(m: Markup, items: list[tuple[str, str, int, int]]) -> str:
    """items: (tracking code, title, similarity in percent, «me too» count)."""
    lines = [f"• {fa_digits(code)} «{m.esc(title)}» — شباهت {fa_number(percent)}٪"
             + (f" — ❤ {fa_number(supporters)}" if supporters else "")
             for code, title, percent, supporters in items]
    return "👥 شاید تکراری:\n" + "\n".join(lines)


def supporters_line(count: int) -> str:
    return f"❤ {fa_number(count)} نفر «من هم» گفته‌اند."


def choose_duplicate() -> str:
    return ("تکرارِ کدام پیشنهاد است؟ یکی از این‌ها را بزنید، یا کد پیگیری پیشنهاد اصلی را بنویسید "
            "(یا /cancel):")


def duplicate_button(code: str, title: str, percent: int) -> str:
    return f"👥 {fa_digits(code)} «{shorten(title, 32)}» {fa_number(percent)}٪"
