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


_NEIGHBOURHOOD_WORD = match_key("محله")


def without_neighbourhood_word(key: str) -> str:
    """A typed name's match key without a leading «محله» («محلهٔ نیاورن»), which a spelling
    comparison would count as misspelt letters; the word alone stays as it is."""
    if key.startswith(_NEIGHBOURHOOD_WORD) and len(key) > len(_NEIGHBOURHOOD_WORD) + 1:
        return key[len(_NEIGHBOURHOOD_WORD):]
    return key


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


# -- search: the key similar proposals are found by (storage's trigram index, the similarity score) --
# Everything a resident writes two ways for one idea is made one spelling here; nothing of it is
# ever shown. Both the index and the query go through search_key(), so the two always agree; a
# change here changes which proposals meet, so tests/test_similar_set.py measures it.

# Harakat, tanwin, shadda, sukun, superscript alef, the hamza above heh («کوچهٔ»), tatweel.
_DIACRITICS = re.compile("[\u064b-\u065f\u0670\u0640]")
# Punctuation and symbols split words; ZWNJ (and the other invisibles) join the parts of a word
# («سطل‌های» and «سطلهای» are one word, its suffix then taken off).
_SEARCH_SPLIT = re.compile(r"[\W_]+")
# Suffixes that make no new idea: plural, ezafe/indefinite yeh, comparative. Longest first; a
# stem keeps at least three letters (two after a plural). «بازی» becomes «باز»: the query and the
# index cut it alike, so they still meet.
_SUFFIXES = ("هایی", "های", "ها", "ترین", "تر", "ای", "ی")
_MIN_STEM = 3
_PLURALS = ("هایی", "های", "ها")  # these leave two letters too: «سگ‌ها» is «سگ»
# Words that say nothing about which idea it is: function words, "please", "more", the verbs
# every proposal starts with, the neighbourhood itself.
_SEARCH_STOPWORDS = frozenset("""
و در به از برای با که را این آن یک تا هم یا بر اینجا اونجا است هست شود بشود باشد لطفا لطفاً
بیشتر کم زیاد خیلی جدید لازم نیاز داریم دارد کنید شده کردن کنند
نصب ایجاد احداث ساخت ساختن گذاشتن راه اندازی راهاندازی تامین تأمین افزایش
محله محل منطقه جلوی کنار نزدیک داخل
""".split())
# One word for one idea, as residents write it several ways. Phrases first (two words that are
# one), then single words. Kept small and about what proposals are about.
_SEARCH_PHRASES = (
    ("سرویس بهداشتی", "توالت"), ("سرویس بهداشت", "توالت"), ("دستشویی عمومی", "توالت"),
    ("سرعت گیر", "سرعتگیر"), ("پیاده رو", "پیادهرو"), ("بی صاحب", "ولگرد"),
    ("زمین بازی", "بازی"), ("وسایل بازی", "بازی"), ("مدار بسته", "مداربسته"), ("کاشت درخت", "درخت"),
    ("چراغ برق", "چراغ"), ("زباله دان", "سطل"), ("سطل زباله", "سطل"), ("سطل آشغال", "سطل"),
)
_SEARCH_SYNONYMS = {
    "بوستان": "پارک", "باغ": "پارک", "آشغال": "زباله", "زبالهدان": "سطل",
    "روشنایی": "چراغ", "روشنائی": "چراغ", "لامپ": "چراغ", "تاریک": "چراغ", "نور": "چراغ",
    "ترمیم": "تعمیر", "بازسازی": "تعمیر", "بهسازی": "تعمیر", "مرمت": "تعمیر", "خراب": "تعمیر",
    "آسفالت": "تعمیر",
    "بچه": "کودک", "بچهها": "کودک", "کودکان": "کودک", "درختکاری": "درخت", "نهال": "درخت",
    "صندلی": "نیمکت", "دستشویی": "توالت", "سرعتگیرها": "سرعتگیر",
    "ماشین": "خودرو", "اتومبیل": "خودرو", "دستگاه": "وسیله", "وسایل": "وسیله", "تجهیزات": "وسیله",
    "بدنسازی": "ورزش", "ورزشی": "ورزش", "معلول": "ویلچر", "معلولان": "ویلچر", "معلولین": "ویلچر",
    "امنیتی": "مداربسته", "دوربینها": "دوربین", "پارکینگها": "پارکینگ",
    "کتابخانه": "کتابخانه", "قرائتخانه": "کتابخانه",
}


def _fold(text: str) -> str:
    """Letters, digits and diacritics as one spelling; ZWNJ and punctuation as nothing / a space."""
    text = _DIACRITICS.sub("", to_ascii_digits(text.translate(_LETTERS)).translate(_HAMZA))
    return " ".join(_SEARCH_SPLIT.sub(" ", _INVISIBLE.sub("", text)).lower().split())


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= (2 if suffix in _PLURALS else _MIN_STEM):
            return word[: -len(suffix)]
    return word


def _stems(text: str) -> list[str]:
    return [_stem(word) for word in _fold(text).split()]


# The tables above in the spelling the words are compared in (their own «آ» folded too).
_PHRASES = {tuple(_stems(phrase)): _stem(_fold(word)) for phrase, word in _SEARCH_PHRASES}
_SYNONYMS = {_stem(_fold(word)): _stem(_fold(canonical)) for word, canonical in _SEARCH_SYNONYMS.items()}
_STOPWORDS = frozenset(_stem(_fold(word)) for word in _SEARCH_STOPWORDS) | frozenset(_SUFFIXES)


def search_words(text: str) -> list[str]:
    """The words that say which idea a title is, in their canonical spelling, each once, in order.

    «سطل‌های زبالهٔ بیشتر برای بوستان» → ["سطل", "پارک"]: letters and digits folded
    (ي/ی, ك/ک, أ/ا, Persian and Arabic digits), diacritics and ZWNJ gone, suffixes cut, function
    words dropped, a few synonyms and two-word spellings made one word."""
    stems = _stems(text)
    joined: list[str] = []
    i = 0
    while i < len(stems):
        pair = tuple(stems[i:i + 2])
        if len(pair) == 2 and pair in _PHRASES:
            joined.append(_PHRASES[pair])
            i += 2
        else:
            joined.append(stems[i])
            i += 1
    out: list[str] = []
    for word in joined:
        word = _SYNONYMS.get(word, word)
        if word not in _STOPWORDS and word not in out:
            out.append(word)
    return out


def search_key(text: str) -> str:
    """search_words() joined by spaces: what the trigram index holds and is asked with."""
    return " ".join(search_words(text))
