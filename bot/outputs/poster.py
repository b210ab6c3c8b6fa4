"""The ambassadors' QR poster: an A5 PNG with the plan's name, who runs it, the neighbourhood, a few lines
(what to do, the campaign's dates) and a QR code for each messenger's link, side by side in reading order
(the first on the right), each with the messenger's name and the link under it.

Persian is shaped and put in visual order by bot/outputs/persian_render.py (which says why), and drawn with
Pillow's BASIC layout in Noto Sans Arabic from PyPI.
"""
from __future__ import annotations

import functools
import io
from collections.abc import Sequence
from dataclasses import dataclass

import segno
from PIL import Image, ImageDraw, ImageFont

from bot.outputs.persian_render import font_path, shape_rtl

# A5 portrait at 200 dpi.
DPI = 200
WIDTH, HEIGHT = 1169, 1654
MARGIN = 90
CONTENT_WIDTH = WIDTH - 2 * MARGIN

# About 10 cm with its quiet zone (8.7 cm for a 64-character payload without it): a phone reads it
# from a metre or two away.
QR_TARGET = 800
QR_MIN_MODULE = 6
QR_BORDER = 4  # the quiet zone the QR standard asks for, in modules

REGULAR, SEMIBOLD, BOLD = 400, 600, 700

INK = (17, 17, 17)
ACCENT = (11, 96, 72)
SOFT = (70, 70, 70)
WHITE = (255, 255, 255)

# Tallest and deepest glyphs we are likely to draw, to keep line pitch steady whatever the words.
_EXTENT_SAMPLE = "\u0622\u06af\u0644\u06a9\u0637\u067e\u0686\u0698\u06cc\u0639\u063a()\u00ab\u00bb|Ag"


@dataclass(frozen=True)
class PosterBlock:
    """One drawn line: what it is, the text as drawn (visual order) and its ink box (left, top, right, bottom)."""
    kind: str
    text: str
    box: tuple[int, int, int, int]


@dataclass(frozen=True)
class Poster:
    image: Image.Image
    blocks: tuple[PosterBlock, ...]
    qr_box: tuple[int, int, int, int]  # the first code's, including the quiet zone
    qr_boxes: tuple[tuple[int, int, int, int], ...] = ()  # every code's, in the order given

# Two codes side by side: each about 5.9 cm with its quiet zone, still read from arm's length.
QR_GAP = 70


Codes = str | Sequence[tuple[str, str, str]]


def invite_poster(
    link: Codes,
    plan_name: str,
    neighbourhood: str,
    lines: Sequence[str] = (),
    platform_name: str = "",
    organiser: str = "",
) -> bytes:
    """A PNG, A5 portrait at 200 dpi (1169×1654 px), white, for an ambassador to print.

    From top to bottom: the plan's name, `organiser` (who runs it), the neighbourhood, the caller's short
    Persian `lines` (what to do, when), then the QR code of `link` with `platform_name` (the messenger's
    Persian name) and the link in Latin text under it. `link` may instead be several codes, each
    (platform name, link to encode, text to print under it): drawn side by side, the first on the right.
    Texts are drawn as given (digits included); nothing here adds Persian words of its own.
    """
    poster = render_poster(link, plan_name, neighbourhood, lines, platform_name, organiser)
    out = io.BytesIO()
    # No tIME or text chunks: the same input gives the same bytes.
    poster.image.save(out, "PNG", dpi=(DPI, DPI))
    return out.getvalue()


def render_poster(
    link: Codes,
    plan_name: str,
    neighbourhood: str,
    lines: Sequence[str] = (),
    platform_name: str = "",
    organiser: str = "",
) -> Poster:
    """The poster as a Pillow image, with where each line landed (for tests and previews)."""
    codes = [(platform_name, link, link)] if isinstance(link, str) else list(link)
    codes = [(name, target.strip(), printed.strip()) for name, target, printed in codes]
    if not codes or any(not target for _, target, _ in codes):
        raise ValueError("poster: the link is empty")
    if isinstance(lines, str):  # one line passed bare would otherwise be drawn a letter per line
        lines = (lines,)
    column = CONTENT_WIDTH if len(codes) == 1 else (CONTENT_WIDTH - QR_GAP * (len(codes) - 1)) // len(codes)
    qrs = [_qr_image(target, QR_TARGET if len(codes) == 1 else column) for _, target, _ in codes]
    qr_size = max(qr.width for qr in qrs)
    header, footers = _fit_texts(plan_name, organiser, neighbourhood, lines, codes, qr_size, column)

    image = Image.new("RGB", (WIDTH, HEIGHT), WHITE)
    draw = ImageDraw.Draw(image)
    blocks: list[PosterBlock] = []

    spare = HEIGHT - 2 * MARGIN - _height(header) - qr_size - max(map(_height, footers))
    # Most of the spare room goes between the text and the code, so the code stands on its own.
    top_gap = spare // 5
    middle_gap = spare // 2

    y = MARGIN + top_gap
    y = _draw_lines(draw, header, y, blocks)
    y += middle_gap
    boxes = []
    for index, (qr, footer) in enumerate(zip(qrs, footers, strict=True)):
        # Right to left: the first code in the rightmost column.
        centre = WIDTH - MARGIN - column // 2 - index * (column + QR_GAP)
        qr_left = centre - qr.width // 2
        image.paste(qr, (qr_left, y))
        boxes.append((qr_left, y, qr_left + qr.width, y + qr.width))
        _draw_lines(draw, footer, y + qr.width, blocks, centre)
    return Poster(image, tuple(blocks), boxes[0], tuple(boxes))


# --- the QR code -------------------------------------------------------------------------------

def _qr_image(link: str, target: int = QR_TARGET) -> Image.Image:
    # Q (25% recovery): posters get folded, stained and photographed at an angle.
    code = segno.make_qr(link, error="q", boost_error=False)
    modules = code.symbol_size(scale=1, border=QR_BORDER)[0]
    module_px = target // modules
    if module_px < QR_MIN_MODULE:
        raise ValueError(f"poster: the link is too long for a printable QR code ({len(link)} characters)")
    matrix = Image.new("1", (modules, modules), 1)
    matrix.putdata([0 if dark else 1 for row in code.matrix_iter(scale=1, border=QR_BORDER) for dark in row])
    size = modules * module_px
    return matrix.resize((size, size), Image.Resampling.NEAREST).convert("RGB")


# --- text --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Line:
    kind: str
    text: str  # visual order, ready to draw
    font: ImageFont.FreeTypeFont
    colour: tuple[int, int, int]
    pitch: int  # baseline to baseline
    rise: int  # baseline below the top of the line's slot
    space_before: int = 0


def _height(lines: Sequence[_Line]) -> int:
    return sum(line.space_before + line.pitch for line in lines)


def _draw_lines(draw: ImageDraw.ImageDraw, lines: Sequence[_Line], y: int, blocks: list[PosterBlock],
                centre: int = WIDTH // 2) -> int:
    for line in lines:
        y += line.space_before
        baseline = y + line.rise
        draw.text((centre, baseline), line.text, font=line.font, fill=line.colour, anchor="ms")
        box = draw.textbbox((centre, baseline), line.text, font=line.font, anchor="ms")
        blocks.append(PosterBlock(line.kind, line.text, tuple(int(v) for v in box)))
        y += line.pitch
    return y


def _fit_texts(
    plan_name: str, organiser: str, neighbourhood: str, lines: Sequence[str], codes: Sequence[tuple[str, str, str]],
    qr_size: int, column: int,
) -> tuple[list[_Line], list[list[_Line]]]:
    """The header (title, organiser, neighbourhood, lines) and each code's footer (platform, link),
    shrunk together until they fit."""
    room = HEIGHT - 2 * MARGIN - qr_size - 40
    scale = 1.0
    while True:
        header: list[_Line] = []
        header += _rtl_block("title", plan_name, BOLD, round(104 * scale), 56, 2, INK, one_line_down_to=0.75)
        header += _rtl_block("organiser", organiser, SEMIBOLD, round(44 * scale), 26, 1, SOFT,
                             space_before=round(6 * scale))
        header += _rtl_block("neighbourhood", neighbourhood, SEMIBOLD, round(76 * scale), 40, 2, ACCENT,
                             space_before=round(18 * scale), one_line_down_to=0.6)
        first = True
        for text in lines:
            header += _rtl_block("line", text, REGULAR, round(44 * scale), 26, 3, INK,
                                 space_before=round((34 if first else 6) * scale), one_line_down_to=0.9)
            first = False
        footers: list[list[_Line]] = []
        for platform_name, _, printed in codes:
            footer = _rtl_block("platform", platform_name, SEMIBOLD, round(36 * scale), 24, 1, SOFT,
                                space_before=round(8 * scale), width=column)
            footer += _link_block(printed, round(30 * scale), space_before=0 if platform_name.strip() else 12,
                                  width=column)
            footers.append(footer)
        if _height(header) + max(map(_height, footers)) <= room:
            return header, footers
        if scale < 0.4:
            raise ValueError(f"poster: too much text for one page ({len(lines)} lines); keep it to two or three short ones")
        scale -= 0.05


def _rtl_block(
    kind: str, text: str, weight: int, size: int, min_size: int, max_lines: int,
    colour: tuple[int, int, int], space_before: int = 0, one_line_down_to: float = 0.7, width: int = CONTENT_WIDTH,
) -> list[_Line]:
    """`text` in `width`: on one line, shrinking down to `one_line_down_to` of `size`,
    else wrapped at spaces into at most `max_lines` lines, shrinking down to `min_size`."""
    words = text.split()
    if not words:
        return []
    size = max(size, 1)
    min_size = min(min_size, size)
    attempts = [(s, 1) for s in range(size, max(min_size, round(size * one_line_down_to)) - 1, -2)]
    attempts += [(s, max_lines) for s in range(size, min_size - 1, -2)]
    for attempt_size, allowed in attempts:
        font = _font(attempt_size, weight)
        wrapped = _wrap(words, font, width)
        if len(wrapped) <= allowed:
            break
    out = []
    for index, logical in enumerate(wrapped):
        # At the smallest size a single word may still be wider than the page: shrink that line alone.
        line_font = font
        while _width(shape_rtl(logical), line_font) > width and line_font.size > 8:
            line_font = _font(line_font.size - 2, weight)
        pitch, rise = _pitch(line_font)
        out.append(_Line(kind, shape_rtl(logical), line_font, colour, pitch, rise,
                         space_before if index == 0 else 0))
    return out


def _wrap(words: Sequence[str], font: ImageFont.FreeTypeFont, width: int = CONTENT_WIDTH) -> list[str]:
    # Words do not join across a space, so a line's advance is its words' advances plus the spaces.
    space = _word_advance(" ", font)
    lines: list[str] = []
    current, used = "", 0.0
    for word in words:
        advance = _word_advance(word, font)
        if current and used + space + advance > width:
            lines.append(current)
            current, used = "", 0.0
        current, used = (f"{current} {word}", used + space + advance) if current else (word, advance)
    lines.append(current)
    return lines


@functools.lru_cache(maxsize=4096)
def _word_advance(word: str, font: ImageFont.FreeTypeFont) -> float:
    return font.getlength(shape_rtl(word))


def _link_block(link: str, size: int, space_before: int, width: int = CONTENT_WIDTH) -> list[_Line]:
    """The link in Latin: one line if it fits `width`, else broken before «?», shrinking to fit either way."""
    candidates = [[link]]
    if "?" in link:
        head, _, tail = link.partition("?")
        candidates.append([head, "?" + tail])
    size = max(size, 1)
    min_size = min(22, size)
    while True:
        font = _font(size, REGULAR)
        for pieces in candidates:
            if all(_width(piece, font) <= width for piece in pieces):
                return _ltr_lines(pieces, font, space_before)
        if size <= min_size:
            break
        size -= 1
    # Longer than any deep link: cut it into as many lines as it takes at the smallest size.
    pieces, current = [], ""
    for char in link:
        if current and _width(current + char, font) > width:
            pieces.append(current)
            current = ""
        current += char
    pieces.append(current)
    return _ltr_lines(pieces, font, space_before)


def _ltr_lines(pieces: Sequence[str], font: ImageFont.FreeTypeFont, space_before: int) -> list[_Line]:
    pitch, rise = _pitch(font)
    return [_Line("link", piece, font, SOFT, pitch, rise, space_before if index == 0 else 0)
            for index, piece in enumerate(pieces)]


def _width(visual: str, font: ImageFont.FreeTypeFont) -> float:
    left, _, right, _ = font.getbbox(visual, anchor="ls")
    return max(right - left, font.getlength(visual))


@functools.lru_cache(maxsize=128)
def _pitch(font: ImageFont.FreeTypeFont) -> tuple[int, int]:
    _, top, _, bottom = font.getbbox(shape_rtl(_EXTENT_SAMPLE), anchor="ls")
    leading = round(font.size * 0.12)
    return bottom - top + leading, -top + leading // 2


@functools.lru_cache(maxsize=128)
def _font(size: int, weight: int) -> ImageFont.FreeTypeFont:
    font = ImageFont.truetype(str(font_path()), size, layout_engine=ImageFont.Layout.BASIC)
    axes = font.get_variation_axes()
    font.set_variation_by_axes([
        weight if _axis_name(axis) == "weight" else axis["default"] for axis in axes
    ])
    return font


def _axis_name(axis: dict) -> str:
    name = axis["name"]
    return (name.decode("ascii", "replace") if isinstance(name, bytes) else str(name)).strip().lower()


# The font file under the name tests reach it by.
_font_path = font_path
