"""Every sentence the bot says. Dates arrive already formatted (messages_fa.dates).

Rules: polite «شما», one clear next step per message, user text always passed through m.esc().
"""
from __future__ import annotations

from messages_fa import buttons as b
from messages_fa.fit import cut, fit, fit_lines, shorten, units
from messages_fa.markup import Markup
from messages_fa.numbers import fa_digits, fa_number

PLAN_NAME = "من شهردارم"
PLAN = f"«{PLAN_NAME}»"

# Phases as one line each; the dates are Jalali strings like «پنجشنبه ۵ آذر ۱۴۰۵، ساعت ۹:۰۰».


def join_names(names) -> str:
    """«تجریش، دربند، نیاوران» — the Persian comma."""
    return "، ".join(names)


# A list of names inside a longer message (an audience of many neighbourhoods), in UTF-16 units.
NAMES_SHOWN = 300


def join_some_names(names, limit: int = NAMES_SHOWN) -> str:
    """«تجریش، دربند و ۲۵ محلهٔ دیگر» once all the names would not fit in ``limit``."""
    names = list(names)
    for shown in range(len(names), 0, -1):
        text = join_names(names[:shown]) + (f" و {fa_number(len(names) - shown)} محلهٔ دیگر"
                                             if shown < len(names) else "")
        if units(text) <= limit:
            return text
    return f"{fa_number(len(names))} محله"


def days_phrase(days: int) -> str:
    if days <= 0:
        return "امروز"
    if days == 1:
        return "فردا"
    return f"{fa_digits(days)} روز دیگر"


def phase_before(opens: str, days: int) -> str:
    return f"ثبت پیشنهادها از {opens} آغاز می‌شود ({days_phrase(days)})."


def phase_proposals(closes: str) -> str:
    return f"اکنون زمان ثبت پیشنهاد است؛ تا {closes} می‌توانید برای محلهٔ خود پیشنهاد بفرستید."


def phase_review(voting_opens: str) -> str:
    return f"مهلت ثبت پیشنهاد تمام شده و پیشنهادها در حال بررسی‌اند. رأی‌گیری از {voting_opens} آغاز می‌شود."


def phase_voting(closes: str) -> str:
    return f"اکنون زمان رأی‌گیری است؛ تا {closes} می‌توانید به پیشنهادهای محلهٔ خود رأی بدهید."


def phase_closed(closed: str) -> str:
    return f"رأی‌گیری {closed} به پایان رسید. از همراهی شما سپاسگزاریم."


def _intro(m: Markup) -> str:
    # Who runs it, said at first contact (issue 16 §5), as the bot's profile description says.
    return (f"به {m.bold(PLAN)} خوش آمدید! در این طرح {ORGANISER}، ساکنان هر محلهٔ منطقهٔ ۱ تهران برای محلهٔ خود "
            "پیشنهاد می‌دهند و با رأی خودشان تعیین می‌کنند بودجهٔ محله صرف کدام پروژه‌ها شود.")


def welcome(m: Markup, phase_line: str, neighbourhood: str | None) -> str:
    intro = _intro(m)
    if neighbourhood:
        return f"{intro}\n\n{phase_line}\n\nمحلهٔ شما: {m.bold(m.esc(neighbourhood))}"
    return f"{intro}\n\n{phase_line}\n\n{choose_neighbourhood()}"


def welcome_through_link(m: Markup, phase_line: str, joined_line: str) -> str:
    """The welcome after an ambassador's link: ``joined_line`` names the neighbourhood the link set,
    so the welcome does not name it a second time."""
    return f"{_intro(m)}\n\n{phase_line}\n\n{joined_line}"


def choose_neighbourhood() -> str:
    return "لطفاً محلهٔ خود را از فهرست زیر انتخاب کنید، یا نام آن را بنویسید."


# What a person typed, repeated back to them: a message can be as long as ours may be.
TYPED_SHOWN = 100


def neighbourhood_several(m: Markup, typed: str) -> str:
    return f"چند محله با «{m.esc(shorten(typed, TYPED_SHOWN))}» پیدا شد. لطفاً محلهٔ خود را انتخاب کنید:"


def neighbourhood_not_found(m: Markup, typed: str) -> str:
    return (f"محله‌ای با نام «{m.esc(shorten(typed, TYPED_SHOWN))}» پیدا نشد. "
            f"لطفاً نام را دوباره بنویسید یا دکمهٔ «{b.ALL_NEIGHBOURHOODS}» را بزنید.")


# --- stray taps and typing (issue 16) --------------------------------------------------------------

def neighbourhood_close(m: Markup, typed: str) -> str:
    return (f"محله‌ای با نام «{m.esc(shorten(typed, TYPED_SHOWN))}» پیدا نشد. "
            "شاید منظورتان یکی از این‌هاست؛ لطفاً انتخاب کنید یا نام را دوباره بنویسید:")


def neighbourhood_picked(name: str) -> str:
    """Added to the question whose buttons were pressed, which then loses them."""
    return f"✅ {name}"


def choose_new_neighbourhood(m: Markup, current: str) -> str:
    return f"محلهٔ کنونی شما: {m.bold(m.esc(current))}\n{choose_neighbourhood()}"


def move_confirm(m: Markup, current: str, target: str, has_draft: bool) -> str:
    lines = [f"محلهٔ کنونی شما {m.bold(m.esc(current))} است. آیا می‌خواهید محلهٔ خود را به "
             f"{m.bold(m.esc(target))} تغییر دهید؟", ""]
    if has_draft:
        lines.append(f"• پیشنهاد نیمه‌کارهٔ شما نگه داشته می‌شود و برای محلهٔ {m.esc(target)} فرستاده می‌شود.")
    lines.append(f"• پیشنهادهایی که پیش‌تر فرستاده‌اید در محلهٔ {m.esc(current)} می‌مانند.")
    lines.append("• شما هنوز رأی نداده‌اید. پس از نخستین رأی، محلهٔ شما دیگر تغییر نمی‌کند "
                 "و رأی‌ها در همان محله می‌مانند.")
    return "\n".join(lines)


def moved(m: Markup, target: str, has_draft: bool) -> str:
    text = f"محلهٔ شما به {m.bold(m.esc(target))} تغییر کرد ✅"
    return f"{text}\nپیشنهاد نیمه‌کارهٔ شما برای همین محله فرستاده می‌شود." if has_draft else text


def stayed(m: Markup, current: str) -> str:
    return f"محلهٔ شما همان {m.bold(m.esc(current))} ماند."


def phone_typed() -> str:
    return (f"لطفاً شماره را تایپ نکنید؛ دکمهٔ «{b.SHARE_PHONE}» را در پایین صفحه بزنید تا شمارهٔ همین حساب "
            "فرستاده شود. شمارهٔ تایپ‌شده را نمی‌توان تأیید کرد.")


def from_text_offer(m: Markup, neighbourhood: str) -> str:
    return (f"پیام شما را به‌عنوان شرح یک پیشنهاد برای محلهٔ {m.esc(neighbourhood)} نگه داشتیم. "
            "می‌خواهید با همین متن پیشنهاد بدهید؟ پس از آن دسته و عنوان را می‌پرسیم.")


def from_voice_offer(m: Markup, neighbourhood: str) -> str:
    return (f"پیام صوتی شما را به‌عنوان شرح یک پیشنهاد برای محلهٔ {m.esc(neighbourhood)} نگه داشتیم. "
            "می‌خواهید با همین پیام صوتی پیشنهاد بدهید؟ پس از آن دسته و عنوان را می‌پرسیم.")


def from_text_declined() -> str:
    return f"باشد، متن شما کنار گذاشته شد. هر وقت خواستید، دکمهٔ «{b.SEND_PROPOSAL}» را بزنید."


def from_text_draft_exists() -> str:
    return (f"شما یک پیشنهاد نیمه‌کاره دارید. برای ادامهٔ آن دکمهٔ «{b.SEND_PROPOSAL}» را بزنید؛ "
            "متن تازه را در همان گام‌ها بنویسید.")


def from_text_too_long(limit: int, length: int) -> str:
    return (f"پیام شما برای شرح یک پیشنهاد بلند است ({fa_number(length)} حرف؛ حداکثر {fa_number(limit)}). "
            f"برای ارسال پیشنهاد، دکمهٔ «{b.SEND_PROPOSAL}» را بزنید و شرح کوتاه‌تری بنویسید.")


def what_now(phase_line: str, action: str | None) -> str:
    """Free text at the main menu that is no proposal: what can be done now."""
    if action is None:
        return f"{phase_line}\nیکی از دکمه‌های پایین صفحه را بزنید یا /help را بفرستید."
    return f"{phase_line}\nبرای ادامه، دکمهٔ «{action}» را در پایین صفحه بزنید یا /help را بفرستید."


def group_start() -> str:
    return f"برای شرکت در طرح {PLAN}، گفتگوی خصوصی با ربات را باز کنید و در آنجا /start را بزنید."


def neighbourhood_set(m: Markup, name: str) -> str:
    return f"محلهٔ شما: {m.bold(m.esc(name))} ✅\nاز دکمه‌های پایین صفحه ادامه دهید."


def neighbourhood_locked(m: Markup, name: str) -> str:
    return (
        f"شما به پیشنهادهای محلهٔ {m.esc(name)} رأی داده‌اید، بنابراین محلهٔ شما دیگر قابل تغییر نیست."
    )


def neighbourhood_needed() -> str:
    return "ابتدا محلهٔ خود را انتخاب کنید."


def menu_hint(phase_line: str) -> str:
    return f"{phase_line}\nیکی از دکمه‌های پایین صفحه را بزنید."


def remind_me_saved(opens: str) -> str:
    return f"حتماً! {opens} که ثبت پیشنهادها آغاز شود، به شما خبر می‌دهیم. 🔔"


def remind_me_already(opens: str) -> str:
    return f"درخواست شما از قبل ثبت شده است؛ {opens} به شما خبر می‌دهیم. 🔔"


def not_understood() -> str:
    return "متوجه نشدم. لطفاً یکی از دکمه‌های پایین صفحه را بزنید یا /help را بفرستید."


def cancelled() -> str:
    return "لغو شد. به منوی اصلی برگشتید."


def help_text(m: Markup, votes: int, proposals: int, support: str = "") -> str:
    """/help; ``support`` (profile.support) is the office's line. /whoami is for staff: not listed."""
    return (
        f"{m.bold('راهنمای ' + PLAN)}\n\n"
        f"۱. محلهٔ خود را انتخاب کنید ({b.CHANGE_NEIGHBOURHOOD}). تا پیش از نخستین رأی می‌توانید آن را تغییر دهید.\n"
        f"۲. در زمان ثبت پیشنهاد، با «{b.SEND_PROPOSAL}» تا {fa_digits(proposals)} پیشنهاد برای محلهٔ خود بفرستید. "
        "هر پیشنهاد پس از بررسی کارشناسان منتشر می‌شود و با کد پیگیری در «پیشنهادهای من» دیده می‌شود.\n"
        f"۳. در زمان رأی‌گیری، با «{b.VOTE}» و تأیید شمارهٔ تلفن همراه، به حداکثر {fa_digits(votes)} پیشنهاد "
        "محلهٔ خود رأی بدهید. تا پایان رأی‌گیری می‌توانید رأی خود را پس بگیرید.\n\n"
        "دستورها: /start شروع دوباره، /cancel لغو کار فعلی، /help همین راهنما."
        + (f"\n\n{support_line(m, support)}" if support else "")
    )


def support_line(m: Markup, support: str) -> str:
    """The office's phone, address or account (profile.support), wherever «contact the office» is said."""
    return f"☎️ پشتیبانی {PLAN}: {m.esc(support)}"


def whoami(platform_name: str, user_id: int, group_id: int | None = None) -> str:
    text = f"شناسهٔ کاربری شما در {platform_name}: {fa_digits(user_id)}\n(برای فایل تنظیمات: {user_id})"
    if group_id is not None:
        text += f"\nشناسهٔ این گروه: {fa_digits(group_id)}\n(برای staff_chat_id: {group_id})"
    return text


def error_try_again() -> str:
    return "متأسفانه خطایی پیش آمد. لطفاً چند لحظهٔ دیگر دوباره تلاش کنید."


def flood_notice() -> str:
    return ("پیام‌های شما خیلی پشت سر هم می‌رسد و پیام‌های این چند لحظه بررسی نشد. "
            "لطفاً چند ثانیه صبر کنید و سپس آخرین پیام خود را دوباره بفرستید.")


def flood_notice_buttons() -> str:
    """An alert on a pressed button (at most 200 characters)."""
    return "دکمه‌ها خیلی پشت سر هم زده شد. لطفاً چند ثانیه صبر کنید و سپس دوباره بزنید."


def text_expected(what: str) -> str:
    return f"لطفاً {what} را به صورت متن بنویسید."


# --- sending a proposal -------------------------------------------------------------------------

TITLE_WORD = "عنوان"
DESCRIPTION_WORD = "شرح پیشنهاد"

def proposals_not_open(phase_line: str) -> str:
    return f"اکنون امکان ثبت پیشنهاد نیست. {phase_line}"


def proposal_limit(limit: int) -> str:
    return (
        f"شما {fa_digits(limit)} پیشنهاد فرستاده‌اید که بیشترین تعداد مجاز است. "
        "وضعیت آن‌ها را در «پیشنهادهای من» ببینید."
    )


def proposal_daily_limit(per_day: int, next_day: str | None, draft_kept: bool) -> str:
    """next_day: the day from whose 00:00 the next one may be sent («شنبه ۷ آذر ۱۴۰۵»); None when
    registration closes before then."""
    text = f"شما امروز {fa_digits(per_day)} پیشنهاد فرستاده‌اید که سقف هر روز است."
    if next_day is None:
        return text + " مهلت ثبت پیشنهاد پیش از فردا تمام می‌شود. وضعیت پیشنهادهایتان را در «پیشنهادهای من» ببینید."
    if draft_kept:
        return (text + f" پیش‌نویس شما نگه داشته شد؛ از بامداد {next_day} با «{b.SEND_PROPOSAL}» "
                "می‌توانید آن را ببینید و بفرستید.")
    return text + f" پیشنهاد بعدی را از بامداد {next_day} می‌توانید بفرستید."


def ask_category(m: Markup, neighbourhood: str) -> str:
    return f"ارسال پیشنهاد برای محلهٔ {m.bold(m.esc(neighbourhood))}\n\nگام ۱ از ۴: دستهٔ پیشنهاد را انتخاب کنید."


def ask_title(limit: int) -> str:
    return f"گام ۲ از ۴: عنوان کوتاهی برای پیشنهاد خود بنویسید (حداکثر {fa_digits(limit)} حرف)."


def ask_description(limit: int, voice_seconds: int | None = None) -> str:
    text = f"گام ۳ از ۴: پیشنهاد خود را شرح دهید: چه کاری، کجا و چرا (حداکثر {fa_number(limit)} حرف)."
    if voice_seconds:
        text += f"\nاگر گفتن برایتان آسان‌تر است، یک پیام صوتی تا {voice_length(voice_seconds)} بفرستید."
    return text


# --- a voice note as the description (issue 16, §4) ----------------------------------------------

def voice_length(seconds: int) -> str:
    """«۲ دقیقه و ۵ ثانیه», «۴۰ ثانیه»."""
    minutes, rest = divmod(seconds, 60)
    parts = ([f"{fa_digits(minutes)} دقیقه"] if minutes else []) + ([f"{fa_digits(rest)} ثانیه"] if rest else [])
    return " و ".join(parts) or "۰ ثانیه"


def ask_title_or_staff() -> str:
    return f"اگر نوشتن برایتان دشوار است، دکمهٔ «{b.STAFF_WRITES_TITLE}» را بزنید."


def title_by_staff() -> str:
    """The title of a proposal whose author asked staff to write it, until they do."""
    return "(عنوان را کارکنان طرح می‌نویسند)"


def title_left_to_staff() -> str:
    return "بسیار خوب؛ عنوان را کارکنان طرح از روی شرح شما می‌نویسند ✅"


def voice_description(seconds: int) -> str:
    """What a proposal described by a voice note reads as its description."""
    return f"🎤 شرح این پیشنهاد یک پیام صوتی {voice_length(seconds)} است."


def voice_saved(seconds: int) -> str:
    return f"پیام صوتی شما ({voice_length(seconds)}) دریافت شد ✅ کارکنان طرح آن را می‌شنوند."


def voice_too_long(most: int, seconds: int) -> str:
    return (f"پیام صوتی حداکثر می‌تواند {voice_length(most)} باشد، اما پیام شما {voice_length(seconds)} است. "
            "لطفاً کوتاه‌تر بگویید و دوباره بفرستید، یا شرح را بنویسید.")


def voice_too_big(megabytes: int) -> str:
    return (f"حجم پیام صوتی حداکثر می‌تواند {fa_digits(megabytes)} مگابایت باشد. "
            "لطفاً کوتاه‌تر بگویید و دوباره بفرستید، یا شرح را بنویسید.")


def staff_voice_caption(code: str, seconds: int, transcript: str | None, title_by_staff: bool) -> str:
    """Under the voice note sent to staff with the card (plain text: a caption on both messengers)."""
    lines = [f"🎤 پیام صوتی پیشنهاد {fa_digits(code)} ({voice_length(seconds)})"]
    if title_by_staff:
        lines.append(f"شهروند خواسته است عنوان را کارکنان بنویسند: /title {code} و پس از آن عنوان را بفرستید.")
    if transcript:
        head = "متن خودکار (پیش‌نویس ماشینی، بازبینی نشده):"
        room = 1000 - units("\n".join([*lines, head]))
        lines += [head, shorten(transcript, max(room, 0))]
    return "\n".join(lines)


def title_usage() -> str:
    return ("برای نوشتن عنوانی که شهروند به کارکنان سپرده است: /title کد‌پیگیری عنوان\n"
            "مثال: /title 1234567 نیمکت در پارک محله")


def title_first() -> str:
    return "شهروند نوشتن عنوان را به کارکنان سپرده است: پیش از تأیید، عنوان را با /title بنویسید."


def title_written(code: str, title: str) -> str:
    return f"عنوان پیشنهاد {fa_digits(code)} ثبت شد ✅: {title}"


def title_not_left_to_staff() -> str:
    return "پیشنهادی با این کد پیگیری که عنوانش به کارکنان سپرده شده باشد پیدا نشد؛ چیزی تغییر نکرد."


def title_closed() -> str:
    return "رأی‌گیری آغاز شده است و عنوان پیشنهادها دیگر تغییر نمی‌کند."


def staff_voice_elsewhere(platform_name: str) -> str:
    return f"🎤 پیام صوتی این پیشنهاد در {platform_name} فرستاده شده و رونوشت آن اینجا فرستاده نشد."


def too_long(what: str, limit: int, length: int) -> str:
    return (
        f"{what} حداکثر می‌تواند {fa_number(limit)} حرف باشد، اما متن شما {fa_number(length)} حرف است. "
        "لطفاً کوتاه‌ترش کنید و دوباره بفرستید."
    )


def too_short(what: str) -> str:
    return f"{what} خیلی کوتاه است. لطفاً کمی بیشتر بنویسید."


def no_words(what: str) -> str:
    return f"{what} باید دست‌کم یک حرف یا رقم داشته باشد؛ متن شما چیزی برای خواندن ندارد. لطفاً دوباره بنویسید."


def ask_media() -> str:
    return (
        "گام ۴ از ۴ (اختیاری): اگر مایلید یک عکس از محل بفرستید و/یا با دکمهٔ "
        f"«{b.SHARE_LOCATION}» مکان آن را مشخص کنید. سپس «{b.CONTINUE}» را بزنید."
    )


def photo_saved() -> str:
    return f"عکس دریافت شد ✅ برای رفتن به پیش‌نمایش «{b.CONTINUE}» را بزنید (عکس تازه جای قبلی را می‌گیرد)."


def location_saved() -> str:
    return f"مکان ثبت شد ✅ برای رفتن به پیش‌نمایش «{b.CONTINUE}» را بزنید (مکان تازه جای قبلی را می‌گیرد)."


def media_expected() -> str:
    return f"در این گام فقط عکس یا مکان پذیرفته می‌شود. برای رفتن به پیش‌نمایش «{b.CONTINUE}» را بزنید."


def preview(m: Markup, neighbourhood: str, category: str, title: str, description: str,
            has_photo: bool, has_location: bool) -> str:
    extras = []
    if has_photo:
        extras.append("🖼 عکس پیوست شده")
    if has_location:
        extras.append("📍 مکان مشخص شده")
    tail = ("\n" + "، ".join(extras)) if extras else ""
    # The limits in config let a whole proposal fit; should one not, its description gives way.
    return fit(m, lambda shown: (
        f"{m.bold('پیش‌نمایش پیشنهاد شما')}\n\n"
        f"محله: {m.esc(neighbourhood)}\nدسته: {m.esc(category)}\n"
        f"عنوان: {m.bold(m.esc(title))}\n\n{shown}{tail}\n\n"
        "اگر درست است «تأیید و ارسال» را بزنید."
    ), description)


def proposal_submitted(m: Markup, code: str) -> str:
    return (
        "پیشنهاد شما ثبت شد و پس از بررسی کارشناسان منتشر می‌شود. سپاس از مشارکت شما! 🌱\n"
        f"کد پیگیری: {m.bold(fa_digits(code))}"
    )


def proposal_cancelled() -> str:
    return "ارسال پیشنهاد لغو شد. به منوی اصلی برگشتید."


def draft_resumed() -> str:
    return f"پیش‌نویس نیمه‌کارهٔ شما را ادامه می‌دهیم. برای شروع از نو، «{b.CANCEL}» را بزنید و دوباره شروع کنید."


def draft_missing() -> str:
    return "پیش‌نویسی برای ارسال پیدا نشد. لطفاً دوباره از «ارسال پیشنهاد» شروع کنید."


def press_buttons_above() -> str:
    return "لطفاً یکی از دکمه‌های پیام بالا را بزنید، یا /cancel را بفرستید."


# --- my proposals -------------------------------------------------------------------------------

STATUS = {"pending": "⏳ در انتظار بررسی", "approved": "✅ تأییدشده", "rejected": "❌ ردشده"}


# The units a cost may be in (general.money_unit); the first is the default.
MONEY_UNITS = ("تومان", "ریال")


def money(amount: int, unit: str) -> str:
    """«۱۲٬۵۰۰٬۰۰۰ تومان»."""
    return f"{fa_number(amount)} {unit}"


def review_state(feasibility: str | None, cost: str | None, note: str | None) -> str | None:
    """What the reviewers found, for the author's own list (None: not reviewed yet)."""
    if feasibility == "feasible" and cost:
        return f"اجراپذیر — هزینهٔ برآوردی {cost} — در رأی‌گیری"
    if feasibility == "not_feasible":
        return "اجراپذیر شناخته نشد" + (f": {note}" if note else "")
    if feasibility == "feasible":
        return "اجراپذیر — برآورد هزینه در جریان است"
    return None


def my_proposals(m: Markup, items: list[tuple[str, str, str, str | None, str | None]]) -> str:
    """items: (title, code, status, reject reason, what the reviewers found)."""
    if not items:
        return "شما هنوز پیشنهادی نفرستاده‌اید."
    blocks = []
    for number, (title, code, status, reason, review) in enumerate(items, 1):
        block = [f"{fa_digits(number)}. {m.esc(title)}", f"کد پیگیری: {fa_digits(code)} — {STATUS[status]}"]
        if status == "rejected" and reason:
            block.append(f"دلیل: {m.esc(reason)}")
        if status == "approved" and review:
            block.append(f"بررسی کارشناسی: {m.esc(review)}")
        blocks.append("\n".join(block) + "\n")
    return fit_lines(m, [m.bold("پیشنهادهای شما"), ""], blocks, [], more_left_out).strip()


def more_left_out(count: int) -> str:
    """The last line of a list cut short to fit one message."""
    return f"… و {fa_number(count)} مورد دیگر"


# --- voting -------------------------------------------------------------------------------------

def voting_not_open(phase_line: str) -> str:
    return f"اکنون زمان رأی‌گیری نیست. {phase_line}"


def ask_phone() -> str:
    return (
        "برای رأی دادن، یک بار شمارهٔ تلفن همراه خود را تأیید کنید: دکمهٔ "
        f"«{b.SHARE_PHONE}» را در پایین صفحه بزنید.\n"
        "خود شماره نگه داشته نمی‌شود؛ فقط یک کد یک‌طرفه از آن ذخیره می‌شود تا از رأی تکراری جلوگیری شود."
    )


def phone_not_yours() -> str:
    return f"این شماره متعلق به حساب خود شما نیست. لطفاً با دکمهٔ «{b.SHARE_PHONE}» شمارهٔ خودتان را بفرستید."


def phone_not_iranian() -> str:
    return "فقط شماره‌های تلفن همراه ایران (۰۹…) پذیرفته می‌شود. اگر شمارهٔ حساب شما ایرانی نیست، امکان رأی دادن از این حساب وجود ندارد."


def phone_in_use() -> str:
    return (
        "این شماره قبلاً با حساب دیگری تأیید شده است؛ شاید در پیام‌رسان دیگر (تلگرام یا بله). "
        "هر شماره فقط پشتوانهٔ یک رأی‌دهنده است: لطفاً با همان حساب رأی بدهید."
    )


def phone_verified() -> str:
    return "شمارهٔ شما تأیید شد ✅"


def phone_already_verified() -> str:
    return "شمارهٔ شما پیش‌تر تأیید شده است ✅"


def ballot(m: Markup, neighbourhood: str, page: int, pages: int, used: int, limit: int,
           items: list[tuple[int, str, str, str, int | None, bool, str | None]]) -> str:
    """items: (number on the buttons, title, category, short description, vote count or None, mine,
    the estimated cost)."""
    header = f"{m.bold('پیشنهادهای محلهٔ ' + m.esc(neighbourhood))}"
    if pages > 1:
        header += f" — صفحهٔ {fa_digits(page)} از {fa_digits(pages)}"
    # Votes left and how to change them first: a long page is cut at its end, never here.
    lines = [header, f"رأی‌های شما: {votes_used(used, limit)} — {votes_left(used, limit)}", ballot_howto(), ""]
    for number, title, category, short, count, mine, cost in items:
        mark = "✅ " if mine else ""
        lines.append(f"{mark}{m.bold(fa_digits(number) + '. ' + m.esc(title))}")
        lines.append(f"دسته: {m.esc(category)}" + (f" — هزینهٔ برآوردی: {cost}" if cost else "")
                     + (f" — {fa_number(count)} رأی" if count is not None else ""))
        lines.append(m.esc(short))
        lines.append("")
    # A page of the longest titles the config allows fits (short descriptions, five a page).
    return cut(m, "\n".join(lines))


def votes_used(used: int, limit: int) -> str:
    return f"{fa_digits(used)} از {fa_digits(limit)} رأی"


def votes_left(used: int, limit: int) -> str:
    return f"{fa_digits(max(limit - used, 0))} رأی باقی‌مانده"


def ballot_howto() -> str:
    return ("برای رأی، دکمهٔ «☐ رأی به …» و برای دیدن شرح کامل، عکس و مکان، «🔎 جزئیات» را بزنید. "
            "برای تغییر رأی، رأی یکی را با «✅ … — پس گرفتن رأی» پس بگیرید و به دیگری بدهید.")


def ballot_empty(m: Markup, neighbourhood: str) -> str:
    return f"هنوز پیشنهاد تأییدشده‌ای برای محلهٔ {m.esc(neighbourhood)} وجود ندارد."


def nothing_on_ballot(m: Markup, neighbourhood: str, closes: str) -> str:
    """Said instead of asking for a phone number when there is nothing to vote for."""
    return (f"هنوز پیشنهادی در فهرست رأی‌گیری محلهٔ {m.esc(neighbourhood)} نیست؛ "
            "پس فعلاً لازم نیست شمارهٔ تلفن خود را بفرستید.\n"
            f"رأی‌گیری تا {closes} ادامه دارد. اطلاعیه‌ها و نتایج طرح از همین ربات برای شما فرستاده می‌شود؛ "
            "کافی است ربات را مسدود نکنید. هر وقت خواستید، دوباره دکمهٔ "
            f"«{b.VOTE}» را بزنید.")


def proposal_details(m: Markup, number: int, neighbourhood: str, title: str, category: str, cost: str | None,
                     count: int | None, description: str, map_url: str | None, mine: bool, used: int,
                     limit: int) -> str:
    """A ballot proposal in full (the 🔎 button); the description is shortened only if the whole
    would not fit one message."""
    def compose(shown: str) -> str:
        lines = [
            f"{m.bold(fa_digits(number) + '. ' + m.esc(title))}",
            f"محله: {m.esc(neighbourhood)} — دسته: {m.esc(category)}",
        ]
        if cost:
            lines.append(f"هزینهٔ برآوردی: {cost}")
        if count is not None:
            lines.append(f"{fa_number(count)} رأی")
        lines += ["", shown]
        if map_url:
            lines += ["", f"📍 مکان روی نقشه: {m.esc(map_url)}"]
        lines += ["", "✅ شما به این پیشنهاد رأی داده‌اید." if mine else "☐ شما هنوز به این پیشنهاد رأی نداده‌اید.",
                  f"رأی‌های شما: {votes_used(used, limit)} — {votes_left(used, limit)}"]
        return "\n".join(lines)
    return fit(m, compose, description)


def details_photo_caption(number: int, title: str) -> str:
    return f"🖼 {fa_digits(number)}. {title}"


def vote_recorded(used: int, limit: int) -> str:
    return f"رأی شما ثبت شد ✅ ({votes_used(used, limit)})"


def vote_withdrawn(used: int, limit: int) -> str:
    return f"رأی شما پس گرفته شد ({votes_used(used, limit)})"


def vote_limit(limit: int) -> str:
    return f"شما همهٔ {fa_digits(limit)} رأی خود را داده‌اید. برای رأی به این پیشنهاد، ابتدا یکی از رأی‌هایتان را پس بگیرید."


def vote_not_available() -> str:
    return "این پیشنهاد در فهرست رأی‌گیری محلهٔ شما نیست."


def voting_closed_alert() -> str:
    return "اکنون زمان رأی‌گیری نیست؛ رأی شما تغییر نکرد."


def button_expired() -> str:
    return "این دکمه دیگر معتبر نیست. لطفاً از منوی پایین صفحه دوباره شروع کنید."


def press_from_another_chat() -> str:
    """A press on a message the bot sent to someone else's private chat (a forged update)."""
    return "این دکمه متعلق به گفتگوی دیگری است و کاری انجام نشد. لطفاً از دکمه‌های گفتگوی خودتان با ربات استفاده کنید."


# --- moderation ---------------------------------------------------------------------------------

MODERATION_HEADING = "پیشنهاد تازه برای بررسی"


def staff_card(m: Markup, code: str, neighbourhood: str, category: str, title: str, description: str,
               map_url: str | None, photo_note: str | None, footer: str = "", heading: str = MODERATION_HEADING) -> str:
    """``footer``: what follows the card in the same message (the outcome, the review state);
    the description is shortened, never the footer, when the whole would be too long. ``heading``:
    what the card is for (moderation by default; /feasibility has its own)."""
    def compose(shown: str) -> str:
        lines = [
            f"{m.bold(heading)} — کد {fa_digits(code)}",
            f"محله: {m.esc(neighbourhood)}",
            f"دسته: {m.esc(category)}",
            f"عنوان: {m.bold(m.esc(title))}",
            "",
            shown,
        ]
        if map_url:
            lines += ["", f"📍 مکان: {m.esc(map_url)}"]
        if photo_note:
            lines += ["", photo_note]
        if footer:
            lines += ["", footer]
        return "\n".join(lines)
    return fit(m, compose, description)


def staff_photo_caption(code: str) -> str:
    return f"🖼 عکس پیشنهاد {fa_digits(code)}"


def staff_photo_elsewhere(platform_name: str) -> str:
    return f"🖼 عکس این پیشنهاد در {platform_name} فرستاده شده است."


def staff_decided_approved(by: str) -> str:
    return f"✅ تأیید شد — {by}"


def staff_decided_rejected(m: Markup, by: str, reason: str) -> str:
    return f"❌ رد شد — {by}\nدلیل: {m.esc(reason)}"


def ask_reject_reason(code: str) -> str:
    return f"دلیل رد پیشنهاد {fa_digits(code)} را در پاسخ به همین پیام بنویسید. (اگر منصرف شدید، پاسخی ندهید.)"


def reason_too_long(limit: int) -> str:
    return f"دلیل حداکثر {fa_number(limit)} حرف باشد. لطفاً کوتاه‌تر بنویسید."


def staff_only() -> str:
    return "این دکمه فقط برای مدیران طرح است."


def already_decided() -> str:
    return "این پیشنهاد پیش‌تر بررسی شده است."


def decision_saved() -> str:
    return "تصمیم شما ثبت شد و به نویسندهٔ پیشنهاد خبر داده می‌شود."


def author_approved(m: Markup, title: str, code: str) -> str:
    return (
        f"پیشنهاد شما «{m.esc(title)}» (کد پیگیری {fa_digits(code)}) تأیید شد ✅ "
        "و اکنون کارشناسان امکان‌سنجی و هزینهٔ اجرای آن را بررسی می‌کنند؛ نتیجه را همین‌جا خبر می‌دهیم. "
        "وضعیت آن را در «پیشنهادهای من» ببینید."
    )


def author_rejected(m: Markup, title: str, code: str, reason: str) -> str:
    return fit(m, lambda shown: (
        f"پیشنهاد شما «{m.esc(title)}» (کد پیگیری {fa_digits(code)}) پس از بررسی پذیرفته نشد.\n"
        f"دلیل: {shown}\n"
        "اگر زمان ثبت پیشنهاد باقی است، می‌توانید پیشنهاد دیگری بفرستید."
    ), reason)


# --- commands shown in the messenger's menu (setMyCommands) ---------------------------------------

COMMANDS = (
    ("start", "شروع و انتخاب محله"),
    ("help", "راهنما"),
    ("cancel", "لغو کار فعلی"),
)
# In every staff member's own menu (a citizen has no use for their user id; staff give theirs to
# colleagues, and a group's id for staff_chat_id).
STAFF_ALWAYS = (("whoami", "نمایش شناسهٔ کاربری"),)
# Shown in the command menu of admins only (their own chats); every command checks the role anyway.
STAFF_COMMANDS = (
    ("broadcast", "پیام همگانی تازه"),
    ("broadcasts", "پیام‌های همگانی و لغو"),
    ("schedule", "تقویم طرح و اعلان‌ها"),
    ("ambassadors", "سفیران طرح"),
    ("review", "صف بررسی پیشنهادها"),
    ("feasibility", "امکان‌سنجی و هزینه"),
    ("stats", "آمار طرح"),
    ("export", "خروجی اکسل"),
    ("audit", "دفتر رویدادها"),
    ("results", "نتایج: محاسبه و انتشار"),
    ("title", "نوشتن عنوانی که شهروند به کارکنان سپرده"),
)

PLATFORM_NAMES = {"telegram": "تلگرام", "bale": "بله"}


# -- similar proposals (issue 16 §3: at the title and description steps) -------------------------
# items: (title, tracking code, the citizen's own, still pending) of up to three proposals.

def _similar_lines(m: Markup, items: list[tuple[str, str, bool, bool]]) -> str:
    lines = []
    for n, (title, code, mine, pending) in enumerate(items, 1):
        note = " (پیشنهاد خودتان" + ("، در انتظار بررسی)" if pending else ")") if mine else ""
        lines.append(f"{fa_number(n)}. «{m.esc(title)}» — کد پیگیری {fa_digits(code)}{note}")
    return "\n".join(lines)


def similar_found(m: Markup, items: list[tuple[str, str, bool, bool]], then: str) -> str:
    """Shown after the title or the description (``then``: what follows in the same message, if any)."""
    return (
        f"🔎 در محلهٔ شما پیشنهادهای مشابهی ثبت شده است:\n\n{_similar_lines(m, items)}\n\n"
        "اگر منظورتان یکی از همین‌هاست، دکمهٔ ❤ آن را بزنید: «من هم» شما برایش ثبت می‌شود و کارکنان "
        "شمار موافقان را می‌بینند؛ پیشنهاد تازه لازم نیست.\n"
        "اگر پیشنهاد شما فرق دارد، «پیشنهاد من فرق دارد» را بزنید یا در پیام بعدی ادامه دهید.\n\n" + then
    ).rstrip()


def similar_supported(m: Markup, title: str, code: str, already: bool) -> str:
    first = ("«من هم» شما پیش‌تر برای" if already else "❤ «من هم» شما برای")
    return (f"{first} «{m.esc(title)}» (کد پیگیری {fa_digits(code)}) ثبت شد؛ کارکنان شمار موافقان را می‌بینند.\n"
            "پیش‌نویس شما کنار گذاشته شد. برای پیشنهادی دیگر، «ارسال پیشنهاد» را بزنید.")


def similar_is_mine(m: Markup, title: str, code: str) -> str:
    return (f"«{m.esc(title)}» پیشنهاد خود شماست و با کد پیگیری {fa_digits(code)} ثبت شده است؛ "
            "این پیش‌نویس کنار گذاشته شد.")


def similar_different() -> str:
    return "✅ پیشنهاد شما فرق دارد؛ ادامه دهید."


def similar_gone() -> str:
    return "این پیشنهاد دیگر در فهرست نیست. اگر پیشنهاد شما فرق دارد، ادامه دهید."


def similar_closed() -> str:
    return "زمان ثبت پیشنهاد گذشته است؛ «من هم» دیگر ثبت نمی‌شود."


# --- the bot's profile (profile.description / short_description in config.toml replace these) -----
ORGANISER = "شهرداری منطقهٔ ۱"
PROFILE_DESCRIPTION = (
    f"ربات رسمی طرح {PLAN}، بودجه‌ریزی مشارکتی {ORGANISER} تهران. ساکنان هر محله برای محلهٔ خود "
    "پیشنهاد می‌دهند و با رأی خود تعیین می‌کنند بودجهٔ محله صرف کدام پروژه‌ها شود. "
    "برای آغاز، «شروع» را بزنید."
)
PROFILE_SHORT_DESCRIPTION = f"بودجه‌ریزی مشارکتی {ORGANISER} تهران: پیشنهاد بدهید و رأی بدهید."
