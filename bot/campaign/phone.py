"""Phone numbers: normalize to +989XXXXXXXXX and keep only a keyed hash."""
from __future__ import annotations

import hashlib
import hmac
import re

from messages_fa.normalize import has_foreign_digits, to_ascii_digits

_MOBILE = re.compile(r"^9[0-9]{9}$")
# "+98 (912) 345-67-89" and the like; a contact card's number is never longer than this.
MAX_PHONE_TYPED = 32


def normalize_iranian_mobile(raw: str) -> str | None:
    """Any way a phone shares an Iranian mobile number → «+989XXXXXXXXX»; None if it is not one."""
    if len(raw) > MAX_PHONE_TYPED or has_foreign_digits(raw):
        return None
    digits = re.sub(r"[^0-9]", "", to_ascii_digits(raw))
    for prefix in ("0098", "98", "0"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 10:
            digits = digits[len(prefix):]
            break
    return f"+98{digits}" if _MOBILE.match(digits) else None


def phone_hash(secret: bytes, normalized: str) -> str:
    return hmac.new(secret, normalized.encode(), hashlib.sha256).hexdigest()


def looks_like_phone(typed: str) -> bool:
    """A message that is nothing but an Iranian mobile number (09…, in any digits, or "+98 912 …"): someone
    asked for their phone typed it instead of sharing it."""
    return normalize_iranian_mobile(typed.strip()) is not None
