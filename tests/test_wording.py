"""The glossary: one term per idea in everything a person reads (issue 16 §6).

Every string literal in messages_fa (f-string parts included) is checked against a list of banned
variants, each with the form the text uses instead. Input-matching tables (normalize.py, the typed
aliases of the buttons) are exempt: they exist to recognise the variants people type.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from bot.campaign.config import load_config
from messages_fa import stats as stats_texts
from messages_fa.markup import PlainMarkup

MESSAGES = Path(__file__).resolve().parent.parent / "messages_fa"
_P = "\u0600-\u06FF"  # Persian/Arabic letters: a "word boundary" for these scripts
_START, _END = f"(?<![{_P}\u200c])", f"(?![{_P}])"

# banned variant (a regular expression) → the form the whole text uses
GLOSSARY: dict[str, str] = {
    f"{_START}پیوند{_END}": "لینک",
    "نویسه": "حرف",
    "باقیمانده|باقی مانده": "باقی‌مانده",
    f"{_START}رای{_END}|{_START}رای‌": "رأی",
    "تایید": "تأیید",
    "رهگیری": "پیگیری (کد پیگیری)",
    "موبایل": "تلفن همراه",
    "[يكى]": "ی / ک (Persian letters)",
    f"{_START}ن?می (?=[{_P}])": "می‌ (with a half-space)",
    f" (ها|های|هایی|هایتان|هایشان){_END}": "‌ها (with a half-space)",
    f"{_START}شماره (تلفن|همراه)": "شمارهٔ تلفن",
    "پیام رسان|پیامرسان": "پیام‌رسان",
    "ثبت نام": "ثبت‌نام",
    "محله ی|محله‌ی|همه ی|همه‌ی|دکمه ی|دکمه‌ی": "ـهٔ (محلهٔ، همهٔ، دکمهٔ)",
    "روز به روز": "روزبه‌روز",
    f"{_START}(تأیید|رد|لغو) شده(?! (است|بود|اند))|حذف شده(?! (است|بود|اند))": "تأییدشده، ردشده، لغوشده، حذف‌شده",
    f"{_START}بات{_END}|روبات": "ربات",
    "گفت‌وگو|گفت و گو": "گفتگو",
}

# Tables that match what people TYPE, where variants are the point.
EXEMPT_FILES = {"normalize.py"}
EXEMPT_NAMES = {("buttons.py", "_ALIASES")}


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def _exempt_nodes(path: Path, tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and (path.name, t.id) in EXEMPT_NAMES for t in node.targets):
            ids |= {id(n) for n in ast.walk(node.value)}
    return ids


def printed_strings() -> list[tuple[str, int, str]]:
    found = []
    for path in sorted(MESSAGES.glob("*.py")):
        if path.name in EXEMPT_FILES:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _docstrings(tree) | _exempt_nodes(path, tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
                found.append((path.name, node.lineno, node.value))
    return found


def test_the_scan_sees_the_texts():
    """Guards the scan itself: if it found nothing, the glossary test below could not fail."""
    texts = [value for _, _, value in printed_strings()]
    assert len(texts) > 300
    assert any("کد پیگیری" in value for value in texts)


@pytest.mark.parametrize("banned", sorted(GLOSSARY))
def test_no_banned_variant_in_what_people_read(banned):
    pattern = re.compile(banned)
    offenders = [f"{name}:{line}: …{value[max(0, m.start() - 20):m.end() + 20]}…"
                 for name, line, value in printed_strings() for m in [pattern.search(value)] if m]
    assert not offenders, f"use «{GLOSSARY[banned]}» instead:\n" + "\n".join(offenders)


@pytest.mark.parametrize("banned, sample", [
    (f"{_START}پیوند{_END}", "این پیوند را باز کنید"),
    ("نویسه", "حداکثر ۸۰ نویسه"),
    (f"{_START}رای{_END}|{_START}رای‌", "یک رای بدهید"),
    (f"{_START}ن?می (?=[{_P}])", "نمی شود"),
    (f" (ها|های|هایی|هایتان|هایشان){_END}", "پیشنهاد های شما"),
    (f"{_START}(تأیید|رد|لغو) شده(?! (است|بود|اند))|حذف شده(?! (است|بود|اند))", "وضعیت: رد شده"),
])
def test_each_rule_catches_its_variant(banned, sample):
    assert re.search(banned, sample)


@pytest.mark.parametrize("allowed", ["برای محله", "پیوستن از لینک", "میدان تجریش", "شمارهٔ شما تأیید شده است",
                                     "پیشنهادهای شما", "رأی‌دهندگان"])
def test_the_rules_leave_the_right_forms_alone(allowed):
    assert not [b for b in GLOSSARY if re.search(b, allowed)]


def test_the_same_figures_come_in_the_same_order():
    """Citizens, verified phones, proposals, votes, voters: the same order in every line that shows them."""
    figures = dict(citizens=101, verified=102, proposals=103, votes=104, voters=105)
    line = stats_texts.neighbourhood_line("تجریش", participation=0.5, **figures)
    report = stats_texts.report(PlainMarkup(), "امروز", citizens=101, verified=102, unassigned=0, proposals=(103, 0, 0, 0),
                                votes=104, voters=105, participation=0.5, platforms=(), today=None, best=(),
                                worst=(), can_export=False, charts_follow=False)
    for text in (line, report):
        positions = [text.index(stats_texts.fa_number(n)) for n in figures.values()]
        assert positions == sorted(positions), text
    heading = stats_texts.neighbourhoods_heading()
    assert [heading.index(w) for w in ("شهروندان", "تلفن تأییدشده", "پیشنهادها", "رأی‌ها", "رأی‌دهندگان")] == sorted(
        heading.index(w) for w in ("شهروندان", "تلفن تأییدشده", "پیشنهادها", "رأی‌ها", "رأی‌دهندگان"))


def test_config_example_names_read_in_the_glossary():
    """Neighbourhood and category names come from config: they are printed too."""
    config = load_config(Path(__file__).resolve().parent.parent / "config.example.toml")
    names = [h.name for h in config.neighbourhoods] + [c.name for c in config.categories]
    for banned in ("[يكى]", f"{_START}ن?می (?=[{_P}])"):
        assert not [n for n in names if re.search(banned, n)], banned
