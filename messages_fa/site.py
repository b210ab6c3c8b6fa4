"""The public results pages (bot/outputs/site.py): plain Persian, escaped for HTML by the page maker.

Figures go through fa_number/fa_digits like everywhere else; only the commands a reader copies
(file names, `pip install`, `python3 recompute.py`) stay Latin, inside code blocks.
"""
from __future__ import annotations

from messages_fa.numbers import fa_digits, fa_number
from messages_fa.texts import ORGANISER, PLAN, money

TITLE = f"نتایج طرح {PLAN}"
ORGANISER_LINE = f"{ORGANISER} تهران"
NEIGHBOURHOODS = "محله‌ها"
CHARTS = "نمودارها"
CHART_HOODS = "شهروندان و رأی‌دهندگان هر محله"
CHART_DAYS = "مشارکت روزبه‌روز"
BACK = "→ نتایج همهٔ محله‌ها"
WON = "برگزیده"  # no emoji: a phone without an emoji font would show a box
NOT_WON = "برگزیده نشد"
NO_PROPOSALS = "در این محله پیشنهادی به رأی گذاشته نشد."
PROPOSALS = "پیشنهادهای روی برگهٔ رأی"
RECOMPUTE = "خودتان دوباره بشمارید"
PB_OF = "فایل رأی‌های این محله (pb)"
SCRIPT = "برنامهٔ بازشماری (recompute.py)"
PB_FILES = "فایل رأی‌های هر محله:"
PRIVACY = ("در این صفحه‌ها و فایل‌ها نام، شناسه یا شمارهٔ تلفن هیچ‌کس نیامده است؛ رأی‌دهندگان در فایل‌های pb "
           "فقط با شماره‌های پشت سر هم شناخته می‌شوند و ترتیب یا زمان رأی‌ها در آن‌ها نیست.")

RULES = {
    "greedy": ("بیشترین رأی (حریصانه)",
               "پیشنهادها به ترتیب شمار رأی بررسی می‌شوند؛ هر پیشنهاد اگر هزینه‌اش در باقی‌ماندهٔ بودجه جا شود "
               "برگزیده می‌شود و اگر نه، نوبت به پیشنهاد بعدی می‌رسد."),
    "equal-shares": ("روش سهم‌های برابر",
                     "بودجهٔ محله میان رأی‌دهندگان به سهم‌های برابر تقسیم می‌شود و هر پیشنهاد با سهم کسانی که به آن "
                     "رأی داده‌اند پرداخت می‌شود؛ پیشنهادی برگزیده می‌شود که هزینه‌اش برای هر حامی کمتر باشد. "
                     "باقی‌ماندهٔ بودجه در پایان به ترتیب شمار رأی پر می‌شود."),
}
TIE_BREAK = ("در برابری، پیشنهاد با رأی بیشتر، سپس با هزینهٔ کمتر، سپس با کد پیگیری کوچک‌تر (زودتر ثبت‌شده) "
             "جلو می‌افتد.")


def page_title(neighbourhood: str | None = None) -> str:
    return f"{TITLE} — محلهٔ {neighbourhood}" if neighbourhood else TITLE


def published(when: str) -> str:
    return f"منتشرشده در {when}"


def rule_line(rule: str) -> str:
    return f"روش انتخاب: {RULES[rule][0]}"


def neighbourhood_heading(name: str) -> str:
    return f"محلهٔ {name}"


def summary(budget: int, spent: int, voters: int, winners: int, unit: str) -> list[tuple[str, str]]:
    """(label, value) pairs, in the order of the staff's and the citizens' results messages."""
    return [("بودجه", money(budget, unit)), ("رأی‌دهندگان", f"{fa_number(voters)} نفر"),
            ("پیشنهادهای برگزیده", fa_number(winners)), ("هزینهٔ برگزیده‌ها", money(spent, unit)),
            ("باقی‌ماندهٔ بودجه", money(budget - spent, unit))]


def proposal_facts(code: str, cost: int, votes: int, unit: str) -> str:
    return f"کد پیگیری {fa_digits(code)} — هزینه: {money(cost, unit)} — {fa_number(votes)} رأی"


def district_totals(voters: int, winners: int, spent: int, budget: int, unit: str) -> str:
    return (f"در همهٔ محله‌ها {fa_number(voters)} نفر رأی دادند و {fa_number(winners)} پیشنهاد با "
            f"{money(spent, unit)} از {money(budget, unit)} بودجه برگزیده شد.")


def recompute_intro() -> str:
    return ("هر کس می‌تواند برگزیدگان را از روی رأی‌ها دوباره حساب کند. رأی‌های هر محله در یک فایل pb "
            "(قالب استاندارد pabulib) آمده است: بودجه، پیشنهادها با هزینه و شمار رأی، و رأی‌ها بی‌نام. "
            "برنامهٔ کوچک recompute.py همان روش را با کتابخانهٔ آزاد pabutools اجرا می‌کند و کد پیگیری "
            "برگزیدگان را به همان ترتیب این صفحه چاپ می‌کند. با پایتون ۳:")


def recompute_check() -> str:
    return "اگر فهرست چاپ‌شده با برگزیدگان این صفحه یکی نبود، لطفاً به دفتر طرح خبر دهید."


def hood_link(name: str) -> str:
    return f"نتایج کامل محلهٔ {name}"
