"""Results as staff preview them and citizens read them."""
from __future__ import annotations

from messages_fa.fit import pages
from messages_fa.markup import Markup
from messages_fa.numbers import fa_digits, fa_number
from messages_fa.texts import PLAN, join_some_names, money

RULE_NAMES = {"greedy": "بیشترین رأی (حریصانه)", "equal-shares": "روش سهم‌های برابر"}
RESULTS = "🏆 نتایج"
PUBLISH = "📣 انتشار نتایج برای همه"
RECOMPUTE = "🔄 محاسبهٔ دوباره"
OTHER_NEIGHBOURHOODS = "نتایج محله‌های دیگر:"


def _winners_lines(m: Markup, neighbourhood: str, budget: int, spent: int, voters: int,
                   winners: list[tuple[str, str, int, int]], unit: str) -> list[str]:
    lines = [m.bold(f"محلهٔ {m.esc(neighbourhood)}"),
             f"بودجه: {money(budget, unit)} — رأی‌دهندگان: {fa_number(voters)}"]
    if winners:
        lines += [f"{fa_digits(i)}. {m.esc(title)} (کد {fa_digits(code)}) — {money(cost, unit)} — {fa_number(votes)} رأی"
                  for i, (title, code, cost, votes) in enumerate(winners, 1)]
    else:
        lines.append("پروژه‌ای برگزیده نشد.")
    lines.append(f"باقی‌ماندهٔ بودجه: {money(budget - spent, unit)}")
    return lines


def winners_block(m: Markup, neighbourhood: str, budget: int, spent: int, voters: int,
                  winners: list[tuple[str, str, int, int]], unit: str) -> str:
    """winners: (title, code, cost, votes). Whole, for the command line."""
    return "\n".join(_winners_lines(m, neighbourhood, budget, spent, voters, winners, unit))


def winners_pages(m: Markup, neighbourhood: str, budget: int, spent: int, voters: int,
                  winners: list[tuple[str, str, int, int]], unit: str, after: str = "") -> list[str]:
    """The same as messages: a neighbourhood may have more winners than one message holds, and
    every one of them is shown. ``after``: a last line (under the list, on the last message)."""
    lines = _winners_lines(m, neighbourhood, budget, spent, voters, winners, unit)
    return pages(m, lines + (["", after] if after else []))


def preview(m: Markup, number: int, rule: str, hoods: list[tuple[str, int, int, int, int]], unit: str,
            published: bool) -> list[str]:
    """hoods: (name, winners, spent, budget, voters). As many messages as the neighbourhoods need."""
    head = (f"🏆 {m.bold('نتایج')} (محاسبهٔ شمارهٔ {fa_digits(number)}، {RULE_NAMES[rule]}) — "
            + ("منتشر شده" if published else "پیش‌نمایش، فقط برای مدیران"))
    lines = [head, ""]
    lines += [f"{m.esc(name)}: {fa_number(n)} پروژه، {money(spent, unit)} از {money(budget, unit)} "
              f"({fa_number(voters)} رأی‌دهنده)" for name, n, spent, budget, voters in hoods]
    lines += ["", "برای جزئیات هر محله دکمهٔ آن را بزنید."]
    return pages(m, lines)


def budget_missing(neighbourhoods: list[str]) -> str:
    """To staff: results were not computed, as these neighbourhoods have a budget of 0."""
    return (f"نتایج محاسبه نشد: برای {join_some_names(neighbourhoods)} بودجه‌ای تعیین نشده است (صفر) و هیچ "
            "پروژه‌ای در آن‌ها اجرا نمی‌شد. مسئول فنی باید بودجه را در فایل تنظیمات بنویسد "
            "(results.default_budget یا results.budgets) و ربات را دوباره راه‌اندازی کند؛ سپس /results را بفرستید.")


def published_done() -> str:
    return "نتایج منتشر شد و اعلان آن برای همهٔ شهروندان در صف ارسال است."


def already_published() -> str:
    return "نتایج پیش‌تر منتشر شده است."


def voting_not_closed(closes: str) -> str:
    return f"رأی‌گیری هنوز تمام نشده است. نتایج را پس از پایان آن ({closes}) می‌توان منتشر کرد."


def computed_before_close() -> str:
    return ("این محاسبه پیش از پایان رأی‌گیری انجام شده و همهٔ رأی‌ها را در بر ندارد. "
            f"«{RECOMPUTE}» را بزنید و محاسبهٔ تازه را منتشر کنید.")


def not_published(results_date: str | None) -> str:
    when = f" نتایج {results_date} اعلام می‌شود." if results_date else " نتایج پس از شمارش اعلام می‌شود."
    return "نتایج هنوز منتشر نشده است." + when


def announcement(site: str = "") -> str:
    """``site``: the public pages' address (site.url), where anyone sees every proposal's votes."""
    return (f"🏆 نتایج طرح {PLAN} منتشر شد!\n\nپروژه‌هایی که ساکنان هر محله برگزیده‌اند مشخص شد. "
            "برای دیدن نتایج محلهٔ خود «🏆 نتایج» را در منو بزنید یا /start را بفرستید."
            + (f"\n\n{site_link(site)}" if site else ""))


def site_link(url: str) -> str:
    """Under a neighbourhood's results: its public page (every proposal, the votes, the files to recount)."""
    return f"🌐 همهٔ پیشنهادها، رأی‌ها و فایل‌های بازشماری: {url}"


def site_failed(folder: str) -> str:
    """To the admin who published: the public pages could not be written (the operator must look)."""
    return (f"نتایج منتشر شد، ولی صفحه‌های عمومی نتایج در پوشهٔ {folder} نوشته نشد. به مسئول فنی خبر دهید "
            "(دستور manshahrdaram publish-site آن‌ها را دوباره می‌نویسد).")


