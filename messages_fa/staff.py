"""The staff console: the review queue, feasibility and cost, the audit log."""
from __future__ import annotations

from messages_fa.fit import fit_lines, shorten
from messages_fa.markup import Markup
from messages_fa.numbers import fa_digits, fa_number
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
    "calendar": "تقویم", "export": "خروجی اکسل",
}


# The log stores plain English words (stable for tools); staff read them in Persian.
_VALUE_NAMES = {
    "pending": "در انتظار", "approved": "تأییدشده", "rejected": "ردشده", "feasible": "اجراپذیر",
    "not_feasible": "اجراناپذیر", "draft": "پیش‌نویس", "scheduled": "زمان‌بندی‌شده", "sending": "در حال ارسال",
    "cancelled": "لغوشده", "suspended": "معلق", "removed": "حذف‌شده", "link": "لینک", "new link": "لینک تازه",
}
_TARGET_NAMES = {"proposal": "پیشنهاد", "broadcast": "پیام همگانی", "ambassador": "سفیر"}


def _value(raw: str | None) -> str:
    if not raw:
        return "—"
    head, sep, rest = raw.partition(": ")
    return fa_digits(_VALUE_NAMES.get(head, head) + (sep + rest if sep else ""))


def _target(raw: str) -> str:
    head, sep, rest = raw.partition(" ")
    return fa_digits(_TARGET_NAMES.get(head, head) + sep + rest)


def audit_entry(when: str, actor: str, action: str, target: str, before: str | None, after: str | None) -> str:
    change = f"{_value(before)} ← {_value(after)}" if before or after else ""
    return (f"{when} — {fa_digits(actor)} — {ACTION_NAMES.get(action, action)} — {_target(target)}"
            + (f"\n   {change}" if change else ""))


def audit_text(entries: list[str]) -> str:
    if not entries:
        return "دفتر رویدادها خالی است."
    return "🧾 دفتر رویدادهای کارکنان (تازه‌ترین در بالا):\n\n" + "\n".join(entries)


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
