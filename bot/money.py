"""Costs as staff type them: Persian or ASCII digits, with or without separators."""
from __future__ import annotations

import re

from messages_fa.normalize import to_ascii_digits

# Thousands separators people type: «٬» (Persian), «،» (the Persian comma), ",", ".", spaces, ZWNJ.
_SEPARATORS = re.compile(r"[\u066c\u060c,.\s\u200c\u00a0]")
MAX_COST = 10**15  # far above any neighbourhood's budget; a typo of extra zeros is refused


def parse_cost(typed: str) -> int | None:
    """«۱۲٬۵۰۰٬۰۰۰», "12,500,000", «۱۲۵۰۰۰۰۰» → 12500000; None for anything else (words, zero,
    negatives, decimals, absurd amounts)."""
    text = _SEPARATORS.sub("", to_ascii_digits(typed.strip()))
    if not text.isascii() or not text.isdigit():
        return None
    value = int(text)
    return value if 0 < value <= MAX_COST else None
