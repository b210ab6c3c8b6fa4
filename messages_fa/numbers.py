"""Persian digits and number formatting for everything a person reads."""
from __future__ import annotations

_TO_PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
THOUSANDS_SEPARATOR = "٬"


def fa_digits(value: object) -> str:
    return str(value).translate(_TO_PERSIAN)


def fa_number(value: int) -> str:
    """12345 → «۱۲٬۳۴۵»."""
    return fa_digits(f"{value:,}".replace(",", THOUSANDS_SEPARATOR))
