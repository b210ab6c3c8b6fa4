"""Iranian mobile numbers: every way a phone shares one, and the keyed hash we keep instead."""
from __future__ import annotations

import re

import pytest

from bot.campaign.phone import normalize_iranian_mobile, phone_hash

NUMBER = "+989121234567"


@pytest.mark.parametrize("raw", [
    "+989121234567",
    "989121234567",
    "09121234567",
    "9121234567",
    "00989121234567",
    "۰۹۱۲۱۲۳۴۵۶۷",  # Persian digits
    "٠٩١٢١٢٣٤٥٦٧",  # Arabic-Indic digits
    "+۹۸۹۱۲۱۲۳۴۵۶۷",
    "0912 123 4567",
    "0912-123-4567",
    "+98 912 123 45 67",
    "+98-912-123-4567",
    "(0912) 123-4567",
    " 09121234567\n",
    "\u200e+98 912 123 4567\u200f",  # direction marks around a pasted number
])
def test_the_same_mobile_in_every_form(raw):
    assert normalize_iranian_mobile(raw) == NUMBER


@pytest.mark.parametrize("raw, normalized", [
    ("09351234567", "+989351234567"),
    ("+989901234567", "+989901234567"),
    ("9981234567", "+989981234567"),
])
def test_other_operators(raw, normalized):
    assert normalize_iranian_mobile(raw) == normalized


@pytest.mark.parametrize("raw", [
    "+14155552671",  # USA
    "+447911123456",  # UK
    "+919123456789",  # India: a 9 after the country code is not Iranian
    "+93701234567",  # Afghanistan
    "02112345678",  # Tehran landline
    "+982112345678",  # Tehran landline, international
    "2112345678",
    "0912123456",  # one digit short
    "912123456",
    "+98912123456",
    "091212345678",  # one digit long
    "+9891212345678",
    "98912123456789",
    "",
    "   ",
    "abc",
    "0",
])
def test_not_an_iranian_mobile(raw):
    assert normalize_iranian_mobile(raw) is None


def test_phone_hash_is_deterministic():
    assert phone_hash(b"secret-one-0123456", NUMBER) == phone_hash(b"secret-one-0123456", NUMBER)


def test_phone_hash_depends_on_the_secret():
    assert phone_hash(b"secret-one-0123456", NUMBER) != phone_hash(b"secret-two-0123456", NUMBER)


def test_phone_hash_depends_on_the_number():
    assert phone_hash(b"secret-one-0123456", NUMBER) != phone_hash(b"secret-one-0123456", "+989121234568")


def test_phone_hash_is_64_hex_and_hides_the_number():
    digest = phone_hash(b"secret-one-0123456", NUMBER)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    for part in (NUMBER, "9121234567", "1234567"):
        assert part not in digest


def test_phone_hash_is_hmac_sha256():
    # A known value pins the algorithm: changing it would make every verified phone unknown.
    import hashlib
    import hmac

    expected = hmac.new(b"secret-one-0123456", NUMBER.encode(), hashlib.sha256).hexdigest()
    assert phone_hash(b"secret-one-0123456", NUMBER) == expected
    assert phone_hash(b"secret-one-0123456", NUMBER) != hashlib.sha256(NUMBER.encode()).hexdigest()



# Issue 12, item 4: \d and int() read every script's digits; each of these once normalized to a
# string of its own, hashed differently, and verified one more account with the same phone.
@pytest.mark.parametrize("raw", [
    "09\uff11\uff12\uff11\uff12\uff13\uff14\uff15\uff16\uff17",  # fullwidth 1212…, after an ASCII 09
    "\uff10\uff19\uff11\uff12\uff11\uff12\uff13\uff14\uff15\uff16\uff17",  # all fullwidth
    "०९१२१२३४५६७",  # Devanagari
    "\U0001d7ce\U0001d7d7\U0001d7cf\U0001d7d0\U0001d7cf\U0001d7d0\U0001d7d1\U0001d7d2\U0001d7d3\U0001d7d4\U0001d7d5",  # 𝟎𝟗𝟏…
    "09121234５67",  # one fullwidth digit among ASCII ones
    "০৯১২১২৩৪৫৬৭",  # Bengali
    "0912123456\u00b9",  # a superscript one
])
def test_digits_of_other_scripts_are_refused(raw):
    assert normalize_iranian_mobile(raw) is None


def test_persian_and_arabic_digits_mixed_with_ascii_still_read():
    assert normalize_iranian_mobile("09۱۲١٢3456۷") == NUMBER
