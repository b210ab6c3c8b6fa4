"""What staff read while broadcasting, and the calendar's announcements to citizens.

Everything here goes out as plain text on both messengers (progress messages are edited often and
carry no user text that would need escaping).
"""
from __future__ import annotations

from messages_fa.fit import fit_lines
from messages_fa.markup import PlainMarkup
from messages_fa.numbers import fa_digits, fa_number
from messages_fa.texts import PLAN, PLATFORM_NAMES, join_some_names, more_left_out

# -- buttons ---------------------------------------------------------------------------------

AUDIENCE_EVERYONE = "همهٔ شهروندان"
AUDIENCE_NEIGHBOURHOODS = "محله‌های انتخابی…"
AUDIENCE_AMBASSADORS = "سفیران"
AUDIENCE_SUBSCRIBERS = "مشترکان «به من خبر بده»"
AUDIENCE_NON_VOTERS = "کسانی که هنوز رأی نداده‌اند"
AUDIENCE_NAMES = {
    "everyone": AUDIENCE_EVERYONE, "neighbourhoods": "محله‌ها", "ambassadors": AUDIENCE_AMBASSADORS,
    "subscribers": AUDIENCE_SUBSCRIBERS, "non_voters": AUDIENCE_NON_VOTERS,
}
BOTH_PLATFORMS = "هر دو پیام‌رسان"
NEIGHBOURHOODS_DONE = "✅ همین محله‌ها"
SEND_NOW = "📣 ارسال اکنون"
SCHEDULE = "🕘 زمان‌بندی"
CANCEL_DRAFT = "✖️ انصراف"
CHANGE_AUDIENCE = "↩️ تغییر گیرندگان"
STOP_SENDING = "⛔️ توقف ارسال"


def with_count(label: str, count: int) -> str:
    return f"{label} ({fa_number(count)})"


def platform_choice(name: str | None, chosen: bool) -> str:
    label = BOTH_PLATFORMS if name is None else only_on(name)
    return f"● {label}" if chosen else label


def neighbourhood_choice(name: str, count: int, chosen: bool) -> str:
    return f"{'☑️' if chosen else '☐'} {name} ({fa_number(count)})"


# -- the staff flow --------------------------------------------------------------------------

KIND_NAMES = {"text": "متن", "photo": "عکس", "video": "ویدیو", "document": "فایل"}


def staff_command_only() -> str:
    return "این فرمان فقط برای مدیران طرح است."


def private_only() -> str:
    return "این کار را در گفتگوی خصوصی با ربات انجام دهید."


def input_cancelled() -> str:
    return "لغو شد. چیزی فرستاده یا تغییر داده نشد."


def only_on(platform: str) -> str:
    return f"فقط {PLATFORM_NAMES[platform]}"


def audience_label(kind: str, neighbourhood_names: list[str], platform: str | None) -> str:
    """«محله‌ها: تجریش، دربند (فقط بله)»."""
    name = AUDIENCE_NAMES[kind]
    if neighbourhood_names:
        name = f"{name}: {join_some_names(neighbourhood_names)}"
    return name if platform is None else f"{name} ({only_on(platform)})"


def ask_content() -> str:
    return ("📣 پیام همگانی\n\nپیامی را که باید به شهروندان برسد همین‌جا بفرستید: متن، عکس با توضیح، "
            "ویدیو یا فایل. پیش از ارسال، گیرندگان را انتخاب می‌کنید و پیش‌نمایش را می‌بینید.\n\n"
            "برای انصراف /cancel را بفرستید.")


def content_unsupported() -> str:
    return "این نوع پیام را نمی‌توان همگانی فرستاد. لطفاً متن، عکس، ویدیو یا فایل بفرستید (یا /cancel)."


def content_too_long(is_text: bool, limit: int, length: int) -> str:
    what = "متن پیام همگانی" if is_text else "توضیح زیر عکس، ویدیو یا فایل"
    return (f"{what} حداکثر می‌تواند {fa_number(limit)} حرف باشد، اما این یکی {fa_number(length)} حرف است. "
            "لطفاً کوتاه‌ترش کنید و دوباره بفرستید (یا /cancel).")


def ask_audience(platform_filter: str | None) -> str:
    where = "" if platform_filter is None else f" (فقط در {PLATFORM_NAMES[platform_filter]})"
    return (f"این پیام برای چه کسانی فرستاده شود{where}؟\n"
            "عدد کنار هر گزینه تعداد گیرندگان است؛ کسانی که ربات را مسدود کرده‌اند شمرده نمی‌شوند.")


def ask_neighbourhoods(chosen: list[str], count: int) -> str:
    if not chosen:
        return "محله‌هایی را که پیام باید به آن‌ها برسد انتخاب کنید، سپس «همین محله‌ها» را بزنید."
    return f"محله‌های انتخاب‌شده: {join_some_names(chosen)}\nگیرندگان: {fa_number(count)} نفر"


def no_neighbourhood_chosen() -> str:
    return "دست‌کم یک محله را انتخاب کنید."


def audience_empty() -> str:
    return "این گروه فعلاً هیچ گیرنده‌ای ندارد. گروه دیگری را انتخاب کنید."


def preview_intro() -> str:
    return "پیش‌نمایش — گیرندگان پیام را دقیقاً این‌طور می‌بینند:"


def preview_summary(audience: str, count: int, per_platform: dict[str, int], cross_platform_media: bool) -> str:
    parts = "، ".join(f"{PLATFORM_NAMES[p]}: {fa_number(n)}" for p, n in sorted(per_platform.items()) if n)
    lines = [f"گیرندگان: {audience} — {fa_number(count)} نفر" + (f" ({parts})" if parts else "")]
    if cross_platform_media:
        lines.append("در پیام‌رسان دیگر، قالب‌بندی متن (پررنگ، لینک) حذف می‌شود.")
    lines.append("ارسال شود؟")
    return "\n".join(lines)


def ask_send_time(example: str) -> str:
    return (f"زمان ارسال را به تاریخ شمسی و ساعت تهران بنویسید، مثلاً:\n{example}\n\n"
            "برای انصراف /cancel را بفرستید.")


def send_time_invalid(example: str) -> str:
    return f"این زمان خوانده نشد. لطفاً مانند این نمونه بنویسید (یا /cancel):\n{example}"


def send_time_past() -> str:
    return "این زمان گذشته است. زمانی در آینده بنویسید، یا «ارسال اکنون» را بزنید (یا /cancel)."


def scheduled(number: int, when: str, count: int) -> str:
    return (f"🕘 پیام همگانی شمارهٔ {fa_digits(number)} برای {when} زمان‌بندی شد "
            f"(اکنون {fa_number(count)} گیرنده). فهرست و لغو: /broadcasts")


def starting(number: int, count: int) -> str:
    return f"📣 ارسال پیام همگانی شمارهٔ {fa_digits(number)} به {fa_number(count)} نفر آغاز می‌شود…"


def draft_cancelled() -> str:
    return "پیام همگانی فرستاده نشد و کنار گذاشته شد. برای نوشتن پیامی تازه: /broadcast"


def not_a_draft() -> str:
    return "این پیام دیگر پیش‌نویس نیست (فرستاده یا لغو شده است). فهرست: /broadcasts"


def cancelled_by_you(number: int) -> str:
    return f"⛔️ پیام همگانی شمارهٔ {fa_digits(number)} متوقف شد. آنچه فرستاده شده بود پس گرفته نمی‌شود."


def stopping(number: int) -> str:
    return (f"ارسال شمارهٔ {fa_digits(number)} متوقف می‌شود. گزارش پایانی، پس از ثبت پیام‌هایی که در راه "
            "بودند، همین‌جا می‌آید.")


def nothing_to_cancel() -> str:
    return "این پیام همگانی پیش‌تر تمام یا لغو شده است."


# -- progress and the report -------------------------------------------------------------------

def bar(fraction: float, width: int = 10) -> str:
    fraction = min(max(fraction, 0.0), 1.0)
    filled = round(fraction * width)
    return f"{'▓' * filled}{'░' * (width - filled)} {fa_digits(int(fraction * 100))}٪"


def title(number: int, announcement: str | None) -> str:
    name = f"اعلان تقویم: {ANNOUNCEMENT_NAMES[announcement]}" if announcement else "پیام همگانی"
    return f"📣 {name} (شمارهٔ {fa_digits(number)})"


def counts_lines(sent: int, total: int, unreachable: int, failed: int, uncertain: int) -> list[str]:
    lines = [f"ارسال‌شده: {fa_number(sent)} از {fa_number(total)}",
             f"در دسترس نیستند (ربات را مسدود کرده‌اند): {fa_number(unreachable)}",
             f"ناموفق: {fa_number(failed)}"]
    if uncertain:
        lines.append(f"نامعلوم (هنگام توقف ناگهانی ربات در حال ارسال بودند): {fa_number(uncertain)}")
    return lines


def progress(heading: str, fraction: float, counts: list[str], expected_end: str | None) -> str:
    lines = [heading, bar(fraction), *counts]
    if expected_end:
        lines.append(f"پایان تقریبی: {expected_end}")
    return "\n".join(lines)


def final(heading: str, cancelled: bool, counts: list[str], seconds: float) -> str:
    outcome = "⛔️ متوقف شد." if cancelled else "✅ تمام شد."
    return "\n".join([f"{heading} — {outcome}", *counts, f"مدت ارسال: {duration(seconds)}"])


# -- how long something took (the broadcast report) -------------------------------------------------

def duration(seconds: float) -> str:
    """«۴۲ ثانیه» under a minute (a small broadcast is over in seconds: never «۰ دقیقه»), then
    minutes, then hours and minutes."""
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{fa_number(whole)} ثانیه"
    minutes = round(whole / 60)
    if minutes < 60:
        return f"{fa_number(minutes)} دقیقه"
    hours, minutes = divmod(minutes, 60)
    return f"{fa_number(hours)} ساعت" + (f" و {fa_number(minutes)} دقیقه" if minutes else "")


# -- the rate a broadcast settled on (issue 17: found from the messenger's 429s) ---------------

def _per_second(rate: float) -> str:
    """25 → «۲۵»; 7.4 → «۷٫۴» (one decimal under ten, where it matters)."""
    if rate >= 10 or rate == int(rate):
        return fa_number(round(rate))
    return fa_digits(f"{rate:.1f}").replace(".", "٫")


def settled_rate(platform: str, start: float, rate: float) -> str:
    line = f"سرعت ارسال در {PLATFORM_NAMES[platform]}: {_per_second(rate)} پیام در ثانیه"
    if _per_second(start) != _per_second(rate):
        line += f" (شروع با {_per_second(start)})"
    return line


# -- /broadcasts -------------------------------------------------------------------------------

STATUS_NAMES = {"scheduled": "🕘 زمان‌بندی‌شده", "sending": "📤 در حال ارسال", "done": "✅ فرستاده شد",
                "cancelled": "⛔️ لغو شد"}


def list_item(number: int, status: str, when: str, audience: str, snippet: str, sent: int | None,
              total: int | None) -> str:
    tail = "" if total is None else f" — {fa_number(sent or 0)} از {fa_number(total)}"
    return f"{fa_digits(number)}. {STATUS_NAMES[status]} — {when}\n   {audience}{tail}\n   «{snippet}»"


def list_text(items: list[str]) -> str:
    if not items:
        return "هنوز هیچ پیام همگانی‌ای فرستاده یا زمان‌بندی نشده است. برای نوشتن یکی: /broadcast"
    # Newest first: what does not fit one message is the oldest.
    return fit_lines(PlainMarkup(), ["📣 پیام‌های همگانی اخیر و زمان‌بندی‌شده:", ""],
                     [item + "\n" for item in items], [], more_left_out).strip()


def cancel_item(number: int) -> str:
    return f"✖️ لغو شمارهٔ {fa_digits(number)}"


# -- the calendar's announcements (to citizens) -------------------------------------------------

ANNOUNCEMENT_NAMES = {
    "proposals_open": "آغاز ثبت پیشنهاد",
    "proposals_close": "پایان ثبت پیشنهاد",
    "voting_open": "آغاز رأی‌گیری",
    "voting_reminder": "یادآوری رأی‌گیری",
    "voting_close": "پایان رأی‌گیری",
    "results": "اعلام نتایج",
}


def announce_proposals_open(closes: str) -> str:
    return (f"📣 ثبت پیشنهاد در طرح {PLAN} آغاز شد!\n\n"
            f"از همین حالا تا {closes} می‌توانید برای محلهٔ خود پیشنهاد بفرستید: "
            "«📝 ارسال پیشنهاد» را در منو بزنید یا /start را بفرستید.")


def announce_proposals_close(voting_opens: str) -> str:
    return (f"مهلت ثبت پیشنهاد در طرح {PLAN} به پایان رسید. از همهٔ پیشنهادهای شما سپاسگزاریم.\n\n"
            f"پیشنهادها اکنون بررسی می‌شوند و رأی‌گیری از {voting_opens} آغاز می‌شود.")


def announce_voting_open(closes: str) -> str:
    return (f"🗳 رأی‌گیری طرح {PLAN} آغاز شد!\n\n"
            f"تا {closes} به پیشنهادهای محلهٔ خود رأی بدهید: «🗳 مشاهدهٔ پیشنهادها و رأی» را در منو بزنید "
            "یا /start را بفرستید.")


def announce_voting_reminder(closes: str) -> str:
    return (f"⏰ یادآوری: رأی‌گیری طرح {PLAN} {closes} به پایان می‌رسد و شما هنوز رأی نداده‌اید.\n\n"
            "«🗳 مشاهدهٔ پیشنهادها و رأی» را در منو بزنید یا /start را بفرستید.")


def announce_voting_close(results: str | None) -> str:
    then = f" نتایج {results} اعلام می‌شود." if results else " نتایج پس از شمارش اعلام می‌شود."
    return f"رأی‌گیری طرح {PLAN} به پایان رسید. از مشارکت شما سپاسگزاریم.{then}"


# -- /schedule (staff) --------------------------------------------------------------------------

BOUNDARY_NAMES = {
    "proposals_opens": "آغاز ثبت پیشنهاد",
    "proposals_closes": "پایان ثبت پیشنهاد",
    "voting_opens": "آغاز رأی‌گیری",
    "voting_closes": "پایان رأی‌گیری",
    "results_announced": "اعلام نتایج",
}
OUTCOME_NAMES = {"sent": "✅ اعلام شد", "missed": "⚠️ به‌موقع اعلام نشد", "pending": "🕘 در انتظار"}


def schedule_boundary(name: str, when: str, passed: bool) -> str:
    return f"{'✔️' if passed else '▫️'} {BOUNDARY_NAMES[name]}: {when}"


def schedule_announcement(key: str, when: str, outcome: str) -> str:
    return f"   📣 {ANNOUNCEMENT_NAMES[key]} — {when} — {OUTCOME_NAMES[outcome]}"


def schedule_text(lines: list[str], can_move: bool) -> str:
    tail = "\n\nبرای جابه‌جا کردن مرزی که هنوز نگذشته است، آن را از دکمه‌های زیر انتخاب کنید." if can_move else ""
    return "🗓 تقویم طرح (به وقت تهران):\n\n" + "\n".join(lines) + tail


def move_button(name: str) -> str:
    return f"🗓 جابه‌جایی {BOUNDARY_NAMES[name]}"


def ask_new_time(name: str, current: str, example: str) -> str:
    return (f"زمان فعلی {BOUNDARY_NAMES[name]}: {current}\n"
            f"زمان تازه را به تاریخ شمسی و ساعت تهران بنویسید، مثلاً:\n{example}\n\nبرای انصراف /cancel را بفرستید.")


def boundary_moved(name: str, old: str, new: str) -> str:
    return f"✅ {BOUNDARY_NAMES[name]} از {old} به {new} منتقل شد. منوها، مهلت‌ها و اعلان‌ها از همین حالا تابع زمان تازه‌اند."


def move_refused(reason: str) -> str:
    reasons = {
        "passed": "این مرز گذشته است و دیگر جابه‌جا نمی‌شود.",
        "past": "زمان تازه گذشته است. زمانی در آینده بنویسید (یا /cancel).",
        "order": ("با این زمان ترتیب مراحل به هم می‌خورد: هر مرحله باید پس از مرحلهٔ پیش از خود باشد. "
                  "برای عقب بردن یک مرز، نخست مرزهای پس از آن را عقب ببرید."),
        "unknown": "چنین مرزی در تقویم نیست.",
    }
    return f"جابه‌جا نشد: {reasons[reason]}"


def missed_announcement(name: str, due: str, grace_minutes: int) -> str:
    return (f"⚠️ اعلان «{ANNOUNCEMENT_NAMES[name]}» که باید {due} فرستاده می‌شد، فرستاده نشد: در آن زمان "
            f"کسی آن را نفرستاد (ربات در دسترس نبود) و اکنون بیش از {fa_number(grace_minutes)} دقیقه گذشته است. "
            "اگر هنوز لازم است، با /broadcast بفرستید.")
