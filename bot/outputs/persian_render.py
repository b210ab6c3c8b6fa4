"""Persian for pictures: shaping, visual order and the font, shared by the QR poster and the charts.

Pillow's BASIC layout and matplotlib both draw glyphs in the order given, one per character, with
no shaping and no bidi. So Persian is shaped here (arabic-reshaper: joined letter forms) and put in
visual order (python-bidi) before either draws it. Pillow's raqm layout would do both itself, but
its wheels load fribidi from the system, so it is there on one machine and missing on the next;
this path gives the same picture everywhere. The font comes from PyPI (Noto Sans Arabic, OFL, with
Latin and both kinds of digits) for the same reason.
"""
from __future__ import annotations

import functools
import json
import unicodedata
from importlib.resources import files
from pathlib import Path

import arabic_reshaper
from bidi.algorithm import get_display

FONT_PACKAGE = "fontpkg_noto_sans_arabic"

# Marks kept (the reshaper drops them by default): the hamza above heh (U+0654) and tanwin (U+064B). Left before their letter in
# visual order, Noto's zero-width marks land over it as HarfBuzz would put them.
_RESHAPER = arabic_reshaper.ArabicReshaper(configuration={"delete_harakat": False})
# Formatting characters whose work is done once the text is shaped and reordered.
_FORMAT_CHARS = dict.fromkeys(map(ord, "\u200c\u200d\u200e\u200f\u061c"))


def shape_rtl(text: str) -> str:
    """Persian text in the form to draw left to right: joined letter forms, visual order, brackets mirrored."""
    return _shape_rtl(text)


@functools.lru_cache(maxsize=2048)
def _shape_rtl(text: str) -> str:
    logical = unicodedata.normalize("NFC", text)
    visual = get_display(_RESHAPER.reshape(logical), base_dir="R")
    return visual.translate(_FORMAT_CHARS)


@functools.lru_cache(maxsize=1)
def font_path() -> Path:
    """The upright Noto Sans Arabic file (a variable font: weight and width axes)."""
    root = files(FONT_PACKAGE)
    meta = json.loads((root / "metadata.json").read_text(encoding="utf-8"))
    upright = [entry for entry in meta["files"] if entry.get("style", "normal") == "normal"]
    if not upright:
        raise RuntimeError(f"{FONT_PACKAGE}: metadata.json lists no upright font file")
    path = Path(str(root / upright[0]["path"]))
    if not path.is_file():  # e.g. a zipped install: Pillow and matplotlib need a real file
        raise RuntimeError(f"{FONT_PACKAGE}: font file {path} is missing; reinstall the package")
    return path
