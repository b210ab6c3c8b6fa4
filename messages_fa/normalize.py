"""Turning what people type into something we can parse or compare.

Phones send Arabic-script variants (Arabic keyboard yeh/kaf), Persian or Arabic-Indic digits,
and invisible direction marks; all of them must match what the config says.
"""
from __future__ import annotations

import re
import unicodedata

_LETTERS = str.maketrans({"ي": "ی", "ى": "ی", "ك": "ک", "ە": "ه", "ة": "ه", "ۀ": "ه"})
_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
# ZWNJ, ZWJ, LRM, RLM, and the bidi embedding/isolate controls.
_INVISIBLE = re.compile("[\u200c\u200d\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\u0640]")
_SPACES = re.compile(r"\s+")
# Spaces, brackets and punctuation never distinguish two names: «دانشگاه (شهرک گل‌ها)».
_NOT_WORD = re.compile(r"[\W_]+")
# Only for comparing: «رأی» and «رای» are the same word to the person typing it.
_HAMZA = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ؤ": "و", "ئ": "ی"})


_READ_DIGITS = frozenset("0123456789۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩")


def to_ascii_digits(text: str) -> str:
    return text.translate(_DIGITS)


def has_foreign_digits(text: str) -> bool:
    """Digits of any other script: fullwidth ０, Devanagari ०, mathematical 𝟎, superscript ¹...

    Python's ``\\d`` and ``int()`` read them all as numbers, so a phone written with them once
    became a second identity. Nobody here types them on purpose: what holds one is refused."""
    return any(ch.isnumeric() and ch not in _READ_DIGITS for ch in text)


# Thousands separators people type in an amount: the Arabic thousands separator (U+066C), the
# Arabic comma (U+060C), ",", ".", spaces, no-break spaces and ZWNJ.
_NUMBER_SEPARATORS = re.compile(r"[\u066c\u060c,.\s\u200c\u00a0]")


def plain_number(text: str) -> str:
    """An amount as typed → its ASCII digits alone (what is left may still not be a number)."""
    return _NUMBER_SEPARATORS.sub("", to_ascii_digits(text.strip()))


def typed_moment(text: str) -> str:
    """«۱۴۰۵/۹/۵، ۹:۰۰» → "1405/9/5 9:00": ASCII digits, the Persian comma and extra spaces gone."""
    return " ".join(to_ascii_digits(text).replace("،", " ").replace("٫", ":").split())


def normalize_input(text: str) -> str:
    """Canonical letters and ASCII digits; keeps ZWNJ so the text can still be shown."""
    return _SPACES.sub(" ", to_ascii_digits(text.translate(_LETTERS))).strip()


def match_key(text: str) -> str:
    """A key for comparing names: no ZWNJ, direction marks, spaces or punctuation at all.

    «گلاب دره», «گلاب‌دره» and «گلابدره» are the same neighbourhood to a resident.
    """
    return _NOT_WORD.sub("", _INVISIBLE.sub("", normalize_input(text))).translate(_HAMZA).lower()


_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]")
_BLANK_LINES = re.compile(r"\n\s*\n\s*\n+")


def clean_text(text: str, *, single_line: bool) -> str:
    """What we store of a citizen's title or description: canonical letters, no control
    characters, trimmed. ZWNJ stays (it is spelling); digits stay as the citizen typed them."""
    text = _CONTROL.sub("", text.translate(_LETTERS).replace("\r\n", "\n"))
    if single_line:
        return _SPACES.sub(" ", text).strip()
    lines = [re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


# Unicode files these as letters (Lo) or symbols, yet they draw nothing: the Hangul fillers and
# the braille blank are the usual way to send an "empty" name or title past a check.
_BLANK_GLYPHS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def _shows(ch: str) -> bool:
    return ch not in _BLANK_GLYPHS and unicodedata.category(ch)[0] not in "CZ"


def has_words(text: str) -> bool:
    """At least one visible letter or digit (Unicode L* or N*): punctuation alone says nothing."""
    return any(unicodedata.category(ch)[0] in "LN" and ch not in _BLANK_GLYPHS for ch in text)


def visible_length(text: str) -> int:
    """Characters that draw something, spaces counted between them: a minimum length is one a
    reader can see, not one met with zero-width characters, fillers or braille blanks."""
    return len(" ".join("".join(ch if _shows(ch) or ch.isspace() else "" for ch in text).split()))
