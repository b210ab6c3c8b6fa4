"""Costs as staff type them: Persian or ASCII digits, with or without separators."""
from __future__ import annotations

from messages_fa.normalize import plain_number

MAX_COST = 10**15  # far above any neighbourhood's budget; a typo of extra zeros is refused
# 10**18 written with Persian digits and separators, spaces around, is about 25 characters.
# Longer is not an amount, and Python refuses int() of more than 4,300 digits with an
# exception, not a None.
MAX_COST_TYPED = 40


def parse_cost(typed: str) -> int | None:
    """"12,500,000" in Persian or ASCII digits, with or without separators → 12500000; None for
    anything else (words, zero, negatives, decimals, absurd amounts)."""
    if len(typed) > MAX_COST_TYPED:
        return None
    text = plain_number(typed)
    if not text.isascii() or not text.isdigit():
        return None
    value = int(text)
    return value if 0 < value <= MAX_COST else None
