"""The ambassadors' QR poster: an A5 PNG whose code reads back as the link, and whose Persian is shaped and fits."""
from __future__ import annotations

import io
import itertools

import pytest
import zxingcpp
from PIL import Image, ImageChops, ImageFont, features

from bot.outputs import poster
from bot.outputs.poster import HEIGHT, MARGIN, WIDTH, invite_poster, render_poster, shape_rtl

PAYLOAD = "amb_7Kq2-XzP9wLm3NvB8cRt4YhJ6sDf1GkQeUo5Ia0Tb_Zr-WnVy2Mx3LpHj9Cd"
TELEGRAM_LINK = f"https://t.me/manshahrdaram_bot?start={PAYLOAD}"
BALE_LINK = f"https://ble.ir/manshahrdaram_bot?start={PAYLOAD}"
PLAN = "من شهردارم"
LINES = (
    "کد را با دوربین گوشی اسکن کنید تا ربات باز شود.",
    "پیشنهادتان را برای محله بفرستید و از ۵ آذر رأی بدهید.",
)
LONG_NEIGHBOURHOODS = (
    "محله دانشگاه (شهرک گل‌ها)",
    "محله امامزاده قاسم",
    # Longer than any real one: must wrap or shrink, never overflow.
    "محله دانشگاه (شهرک گل‌ها) و امامزاده قاسم و دربند و گلابدره و جماران",
    # One joined word wider than the page at any size a wrap allows.
    "محله " + "بپتثجچ" * 14,
)
DPI_PX_PER_CM = 200 / 2.54


def test_payload_is_a_full_length_deep_link_payload():
    assert len(PAYLOAD) == 64


@pytest.fixture(scope="module")
def telegram_png() -> bytes:
    return invite_poster(TELEGRAM_LINK, PLAN, "محله تجریش", LINES, "تلگرام")


@pytest.fixture(scope="module")
def bale_png() -> bytes:
    return invite_poster(BALE_LINK, PLAN, "محله دانشگاه (شهرک گل‌ها)", LINES, "بله")


def _qr_codes(image: Image.Image) -> list:
    return zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)


# --- the file ----------------------------------------------------------------------------------


def test_png_is_a5_portrait_at_200_dpi_on_white(telegram_png):
    assert telegram_png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(telegram_png))
    image.load()
    assert image.format == "PNG"
    assert image.size == (1169, 1654)
    assert image.info["dpi"] == pytest.approx((200, 200), abs=0.01)
    rgb = image.convert("RGB")
    for corner in [(0, 0), (WIDTH - 1, 0), (0, HEIGHT - 1), (WIDTH - 1, HEIGHT - 1)]:
        assert rgb.getpixel(corner) == (255, 255, 255)


def test_same_input_same_bytes_and_no_timestamp(telegram_png):
    again = invite_poster(TELEGRAM_LINK, PLAN, "محله تجریش", LINES, "تلگرام")
    assert again == telegram_png
    assert b"tIME" not in telegram_png and b"tEXt" not in telegram_png


# --- the QR code -------------------------------------------------------------------------------


@pytest.mark.parametrize("platform", ["telegram", "bale"])
def test_qr_decodes_to_exactly_the_link(platform, telegram_png, bale_png):
    png, link = (telegram_png, TELEGRAM_LINK) if platform == "telegram" else (bale_png, BALE_LINK)
    image = Image.open(io.BytesIO(png))
    codes = _qr_codes(image)
    assert [code.text for code in codes] == [link]
    assert codes[0].ec_level in ("M", "Q")
    # Like a phone photo of the whole page at half the resolution.
    half = image.resize((WIDTH // 2, HEIGHT // 2), Image.Resampling.LANCZOS)
    assert [code.text for code in _qr_codes(half)] == [link]


def test_qr_is_large_enough_for_a_printed_a5_page(bale_png):
    image = Image.open(io.BytesIO(bale_png))
    (code,) = _qr_codes(image)
    symbol = code.position.top_right.x - code.position.top_left.x
    assert symbol / DPI_PX_PER_CM >= 8.5
    shown = render_poster(BALE_LINK, PLAN, "محله دانشگاه (شهرک گل‌ها)", LINES, "بله")
    left, top, right, bottom = shown.qr_box
    assert (right - left) / DPI_PX_PER_CM >= 9.0
    # The quiet zone (4 modules, here at least 40 px) is white on every side of the symbol.
    modules = symbol / 49  # a 64-character payload at level Q is a version 8 symbol (49 modules)
    assert code.position.top_left.x - left >= 4 * modules - 1
    assert right - code.position.top_right.x >= 4 * modules - 1
    quiet = shown.image.crop((left, top, right, bottom)).convert("L")
    ring = [quiet.crop(box) for box in [
        (0, 0, quiet.width, 40), (0, quiet.height - 40, quiet.width, quiet.height),
        (0, 0, 40, quiet.height), (quiet.width - 40, 0, quiet.width, quiet.height),
    ]]
    assert all(part.getextrema() == (255, 255) for part in ring)


def test_a_link_too_long_for_a_printable_code_is_refused():
    with pytest.raises(ValueError, match="too long"):
        invite_poster("https://t.me/manshahrdaram_bot?start=" + "a" * 1500, PLAN, "محله تجریش")
    with pytest.raises(ValueError, match="empty"):
        invite_poster("  ", PLAN, "محله تجریش")


# --- layout ------------------------------------------------------------------------------------


def _overlaps(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.mark.parametrize("neighbourhood", LONG_NEIGHBOURHOODS)
def test_long_neighbourhood_names_stay_inside_the_margins(neighbourhood):
    shown = render_poster(BALE_LINK, PLAN, neighbourhood, LINES, "بله")
    boxes = [block.box for block in shown.blocks] + [shown.qr_box]
    for left, top, right, bottom in boxes:
        assert MARGIN <= left and right <= WIDTH - MARGIN
        assert MARGIN <= top and bottom <= HEIGHT - MARGIN
    for a, b in itertools.combinations(boxes, 2):
        assert not _overlaps(a, b)
    # The pixels agree: nothing but white in the margins.
    gray = shown.image.convert("L")
    for strip in [(0, 0, WIDTH, MARGIN), (0, HEIGHT - MARGIN, WIDTH, HEIGHT),
                  (0, 0, MARGIN, HEIGHT), (WIDTH - MARGIN, 0, WIDTH, HEIGHT)]:
        assert gray.crop(strip).getextrema() == (255, 255)
    kinds = [block.kind for block in shown.blocks]
    assert kinds[0] == "title" and "neighbourhood" in kinds and kinds[-1] == "link"


def test_a_real_long_name_keeps_one_line_and_a_large_font():
    shown = render_poster(BALE_LINK, PLAN, "محله دانشگاه (شهرک گل‌ها)", LINES, "بله")
    (name,) = [block for block in shown.blocks if block.kind == "neighbourhood"]
    assert name.text == shape_rtl("محله دانشگاه (شهرک گل‌ها)")
    assert name.box[3] - name.box[1] >= 60  # about 76 px type, still prominent


def test_a_name_too_long_for_one_line_wraps_rather_than_shrinking_to_nothing():
    shown = render_poster(BALE_LINK, PLAN, LONG_NEIGHBOURHOODS[2], LINES, "بله")
    parts = [block for block in shown.blocks if block.kind == "neighbourhood"]
    assert len(parts) == 2
    assert all(block.box[3] - block.box[1] >= 40 for block in parts)


def test_the_link_is_printed_in_full_under_the_code():
    shown = render_poster(TELEGRAM_LINK, PLAN, "محله تجریش", LINES, "تلگرام")
    link_blocks = [block for block in shown.blocks if block.kind == "link"]
    assert "".join(block.text for block in link_blocks) == TELEGRAM_LINK
    assert all(block.box[1] >= shown.qr_box[3] for block in link_blocks)


def test_too_many_lines_are_refused_not_squeezed_off_the_page():
    with pytest.raises(ValueError, match="too much text"):
        invite_poster(TELEGRAM_LINK, PLAN, "محله تجریش", [LINES[1] * 3] * 12)


# --- Persian shaping ---------------------------------------------------------------------------


def test_title_is_joined_and_right_to_left():
    # من شهردارم, right to left: meem initial, noon final; sheen initial, heh medial, reh final,
    # then dal, alef, reh, meem each isolated (none of them joins the letter after it).
    expected = "\ufee1\ufead\ufe8d\ufea9\ufeae\ufeec\ufeb7 \ufee6\ufee3"
    assert shape_rtl(PLAN) == expected
    shown = render_poster(TELEGRAM_LINK, PLAN, "محله تجریش", LINES, "تلگرام")
    assert shown.blocks[0].kind == "title" and shown.blocks[0].text == expected


def test_zwnj_breaks_the_join_and_leaves_no_glyph():
    shaped = shape_rtl("گل‌ها")
    # Left to right as drawn: alef final, heh initial, lam final, gaf initial.
    assert shaped == "\ufe8e\ufeeb\ufede\ufb94"
    assert "\u200c" not in shape_rtl("سرای‌محله می‌شود")
    # Marks pasted from elsewhere (RLM, LRM, ALM) have done their work once reordered.
    assert shape_rtl("\u200fسلام\u200e \u061c۱۲") == shape_rtl("سلام ۱۲")


def test_brackets_mirror_and_digits_keep_their_order():
    shaped = shape_rtl("دانشگاه (شهرک)")
    assert shaped[0] == "(" and shaped[5] == ")"  # «(شهرک)» sits left of «دانشگاه», opening on the right
    assert "۱۴۰۵" in shape_rtl("از ۵ آذر ۱۴۰۵ رأی بدهید")
    assert "«" == shape_rtl("ربات «من شهردارم»")[0]


def test_persian_letters_take_their_presentation_forms():
    # Drawn left to right; the letters Arabic lacks (گ چ ژ ک ی پ) included.
    assert shape_rtl("گچ") == "\ufb7b\ufb94"  # tcheh final, gaf initial
    assert shape_rtl("کی") == "\ufbfd\ufb90"  # farsi yeh final, keheh initial
    assert shape_rtl("ژاله") == "\ufeea\ufedf\ufe8d\ufb8a"  # heh final, lam initial, alef, jeh
    assert shape_rtl("پیش") == "\ufeb6\ufbff\ufb58"  # sheen final, farsi yeh medial, peh initial
    assert not any("\u0600" <= char <= "\u06ff" for char in shape_rtl("پیشنهاد گچ ژاله کوی"))


def test_diacritics_are_kept():
    assert "\u0654" in shape_rtl("منطقهٔ یک") and "\u064b" in shape_rtl("لطفاً")


@pytest.mark.skipif(not features.check("raqm"), reason="needs Pillow's raqm layout (system fribidi) to compare")
@pytest.mark.parametrize("text", [PLAN, "دانشگاه (شهرک گل‌ها)", "امامزاده قاسم", "پیشنهاد بفرستید"])
def test_shaped_text_measures_like_harfbuzz_and_unlike_raw_text(text):
    path = str(poster._font_path())
    basic = ImageFont.truetype(path, 100, layout_engine=ImageFont.Layout.BASIC)
    raqm = ImageFont.truetype(path, 100, layout_engine=ImageFont.Layout.RAQM)
    reference = raqm.getlength(text, direction="rtl")
    assert basic.getlength(shape_rtl(text)) == pytest.approx(reference, rel=0.03)
    assert abs(basic.getlength(text) - reference) > 0.08 * reference


def test_the_drawn_title_has_ink_where_shaped_text_has_it():
    # Drawn unshaped, «من شهردارم» is wider and its letters do not touch; compare the poster's title ink.
    font = poster._font(104, poster.BOLD)
    shown = render_poster(TELEGRAM_LINK, PLAN, "محله تجریش", LINES, "تلگرام")
    title = shown.blocks[0]
    width = title.box[2] - title.box[0]
    shaped_box = font.getbbox(shape_rtl(PLAN), anchor="ms")
    raw_box = font.getbbox(PLAN, anchor="ms")
    assert width == shaped_box[2] - shaped_box[0]
    assert width < 0.95 * (raw_box[2] - raw_box[0])
    crop = shown.image.crop(title.box).convert("L")
    assert ImageChops.invert(crop).getbbox() is not None
