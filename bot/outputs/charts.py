"""The two /stats charts as PNG bytes: the neighbourhoods side by side, and participation over the days.

matplotlib (3.11 on) lays text out with libraqm: HarfBuzz joins the letters and FriBidi puts them in
right-to-left order. So labels go in as Persian is written (logical order), never through
bot.outputs.persian_render.shape_rtl, which is for Pillow's BASIC layout: shaped text fed to raqm comes
out reversed. matplotlib before 3.11 does neither, hence the floor in pyproject.toml. The font is
Noto Sans Arabic from PyPI (bot.outputs.persian_render.font_path), as on the poster: most servers have
no Persian font. The figures are built with the object API on the Agg canvas, never pyplot: no
backend to choose, no global state, so charts can be drawn in worker threads (asyncio.to_thread).

Right to left where reading order matters: neighbourhood names stand on the right and their bars
grow leftwards. Time runs left to right, as in Iranian statistical charts.
"""
from __future__ import annotations

import functools
import io
import unicodedata
from collections.abc import Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, fontManager
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator

from bot.campaign.services.stats import DayStats, StatsReport
from bot.outputs.persian_render import font_path
from messages_fa import stats as t
from messages_fa.numbers import fa_digits, fa_number

DPI = 150
HOODS_SIZE = (9.0, 12.0)  # inches: 1350 × 1800 px, 27 rows readable on a phone when zoomed
DAYS_SIZE = (10.0, 7.0)  # 1500 × 1050 px
HOOD_DAYS_SIZE = (10.0, 5.0)  # 1500 × 750 px
MAX_DAY_TICKS = 10
MARGIN = 0.3  # inches, left and right

CITIZENS_COLOUR = "#9ecae1"
VOTERS_COLOUR = "#0b6048"  # the poster's accent
INK = "#111111"
SOFT = "#555555"
GRID = "#dddddd"
DAY_SERIES = (  # (field of DayCounts, label, colour)
    ("citizens", t.CHART_NEW_CITIZENS, "#6baed6"),
    ("verified", t.CHART_VERIFIED, "#fd8d3c"),
    ("proposals", t.CHART_PROPOSALS, "#756bb1"),
    ("votes", t.CHART_VOTES, VOTERS_COLOUR),
)
HOOD_SERIES = tuple(series for series in DAY_SERIES if series[0] in ("proposals", "votes"))


@functools.lru_cache(maxsize=8)
def _font(size: float) -> FontProperties:
    return FontProperties(fname=str(font_path()), size=size)


@functools.lru_cache(maxsize=1)
def _family() -> str:
    """The font's family name, registered with matplotlib once: tick labels are made afresh at
    every draw, so they take the font by name (tick_params) rather than as a FontProperties."""
    fontManager.addfont(str(font_path()))
    return _font(10).get_name()


def _fa(text: str) -> str:
    """What a label is drawn from: NFC Persian in logical order (raqm shapes and orders it)."""
    return unicodedata.normalize("NFC", text)


def _count_formatter() -> FuncFormatter:
    return FuncFormatter(lambda value, _pos: fa_number(round(value)) if value >= 0 else "")


def _percent_formatter() -> FuncFormatter:
    return FuncFormatter(lambda value, _pos: fa_digits(f"{value:g}".replace(".", t.DECIMAL_SEPARATOR)) + t.PERCENT)


def _style_ticks(ax, size: float = 9) -> None:
    ax.tick_params(colors=SOFT, labelcolor=INK, labelsize=size, labelfontfamily=_family())
    for side in ("top", "left", "right", "bottom"):
        ax.spines[side].set_color(GRID)


def _rect(fig: Figure, left: float, top: float, right: float, bottom: float) -> tuple[float, float, float, float]:
    """An axes' place from its margins in inches (top and bottom from the top edge): the
    layout stays the same whatever the figure's size."""
    width, height = fig.get_size_inches()
    return left / width, 1 - bottom / height, 1 - (left + right) / width, (bottom - top) / height


def _header(fig: Figure, title: str, subtitle: str) -> None:
    """Title and subtitle at the top right, where a Persian reader starts."""
    width, height = fig.get_size_inches()
    x = 1 - MARGIN / width
    fig.text(x, 1 - 0.25 / height, _fa(title), ha="right", va="top", fontproperties=_font(16), color=INK)
    fig.text(x, 1 - 0.62 / height, _fa(subtitle), ha="right", va="top", fontproperties=_font(10), color=SOFT)


def _legend(fig: Figure, handles_from, top: float, size: float = 10) -> None:
    """One row under the header, right-aligned, each marker right of its label (right to left)."""
    width, height = fig.get_size_inches()
    handles, labels = handles_from.get_legend_handles_labels()
    # Laid out left to right, read right to left: the first series goes last.
    fig.legend(handles[::-1], labels[::-1], prop=_font(size), loc="upper right",
               bbox_to_anchor=(1 - MARGIN / width, 1 - top / height), ncols=len(labels), frameon=False,
               markerfirst=False, handlelength=1.6, columnspacing=1.6)


def _png(fig: Figure) -> bytes:
    out = io.BytesIO()
    FigureCanvasAgg(fig)
    # No metadata: the same figures give the same bytes.
    fig.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()


def _empty(fig: Figure) -> None:
    fig.text(0.5, 0.5, _fa(t.CHART_EMPTY), ha="center", va="center", fontproperties=_font(14), color=SOFT)


def neighbourhoods_chart(report: StatsReport, when: str) -> bytes:
    """Citizens and voters of each neighbourhood (config order, top to bottom) as paired
    horizontal bars, names on the right, participation written beside each pair."""
    fig = Figure(figsize=HOODS_SIZE, dpi=DPI, facecolor="white")
    _header(fig, t.CHART_HOODS_TITLE, t.chart_subtitle(when))
    hoods = report.neighbourhoods
    if not hoods:
        _empty(fig)
        return _png(fig)
    ax = fig.add_axes(_rect(fig, left=MARGIN, top=1.45, right=2.1, bottom=HOODS_SIZE[1] - 0.75))
    rows = range(len(hoods))
    height = 0.4
    citizens = [h.counts.citizens for h in hoods]
    voters = [h.counts.voters for h in hoods]
    ax.barh([r - height / 2 for r in rows], citizens, height, color=CITIZENS_COLOUR, label=_fa(t.CHART_CITIZENS))
    ax.barh([r + height / 2 for r in rows], voters, height, color=VOTERS_COLOUR, label=_fa(t.CHART_VOTERS))
    top = max(citizens) or 1
    ax.set_xlim(top * 1.18, 0)  # inverted: bars grow leftwards from the names
    ax.set_ylim(len(hoods) - 0.4, -0.6)  # the first neighbourhood at the top
    ax.yaxis.tick_right()
    ax.yaxis.set_major_locator(FixedLocator(list(rows)))
    ax.set_yticklabels([_fa(h.name) for h in hoods])
    ax.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
    ax.xaxis.set_major_formatter(_count_formatter())
    ax.set_xlabel(_fa(t.CHART_PEOPLE), fontproperties=_font(10), color=SOFT)
    ax.grid(axis="x", color=GRID, linewidth=0.6)
    ax.set_axisbelow(True)
    for row, h in zip(rows, hoods, strict=True):
        if h.counts.citizens:
            ax.text(h.counts.citizens + top * 0.015, row, _fa(t.fa_percent(h.participation)), ha="right",
                    va="center", fontproperties=_font(8.5), color=INK)
    _style_ticks(ax, 10)
    ax.tick_params(axis="y", length=0, pad=6)
    _legend(fig, ax, top=0.95)
    return _png(fig)


def days_chart(report: StatsReport, when: str) -> bytes:
    return _png(days_figure(report, when))


def days_figure(report: StatsReport, when: str) -> Figure:
    """Above: participation so far on each day (voters ÷ citizens by then). Below: what each day
    brought (new citizens, phone verifications, proposals, votes). Jalali days on the x axis."""
    fig = Figure(figsize=DAYS_SIZE, dpi=DPI, facecolor="white")
    _header(fig, t.CHART_DAYS_TITLE, t.chart_subtitle(when))
    days = report.days
    if not days:
        _empty(fig)
        return fig
    x = list(range(len(days)))
    height = DAYS_SIZE[1]
    upper = fig.add_axes(_rect(fig, left=0.85, top=1.05, right=MARGIN, bottom=3.2))
    lower = fig.add_axes(_rect(fig, left=0.85, top=3.75, right=MARGIN, bottom=height - 0.6), sharex=upper)

    upper.plot(x, [d.participation * 100 for d in days], color=VOTERS_COLOUR, linewidth=2.2, marker="o",
               markersize=_marker_size(days))
    upper.set_ylim(bottom=0, top=max(5.0, max(d.participation * 100 for d in days) * 1.2))
    upper.yaxis.set_major_locator(MaxNLocator(nbins=5))
    upper.yaxis.set_major_formatter(_percent_formatter())
    _ylabel(upper, t.CHART_PARTICIPATION)
    last = days[-1]
    upper.annotate(_fa(t.fa_percent(last.participation)), (x[-1], last.participation * 100),
                   xytext=(0, 8), textcoords="offset points", ha="center", fontproperties=_font(9), color=INK)

    _per_day(lower, days, DAY_SERIES)
    _legend(fig, lower, top=3.3, size=9.5)
    upper.tick_params(axis="x", labelbottom=False)
    for ax in (upper, lower):
        ax.grid(axis="y", color=GRID, linewidth=0.6)
        ax.set_axisbelow(True)
        _style_ticks(ax, 9)
    return fig


def _marker_size(days: Sequence[DayStats]) -> float:
    """Each day a dot while they are few: a line through one day (a campaign's first) draws nothing,
    and nothing on the chart would say that day happened."""
    if len(days) == 1:
        return 7
    return 3.5 if len(days) < 40 else 0


def _per_day(ax, days: Sequence[DayStats], series) -> None:
    """What each day brought, one line (and dot) a series, Jalali days on the x axis."""
    x = list(range(len(days)))
    for field, label, colour in series:
        ax.plot(x, [getattr(d.counts, field) for d in days], color=colour, linewidth=1.6, label=_fa(label),
                marker="o", markersize=_marker_size(days))
    ax.set_ylim(bottom=0, top=max(1, max(getattr(d.counts, f) for d in days for f, _, _ in series)) * 1.15)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    ax.yaxis.set_major_formatter(_count_formatter())
    _ylabel(ax, t.CHART_PER_DAY)
    ax.xaxis.set_major_locator(FixedLocator(day_ticks(days)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _pos: _day_label(days, value)))
    ax.set_xlim(-0.5, len(days) - 0.5)


def neighbourhood_chart(name: str, days: Sequence[DayStats], when: str) -> bytes:
    return _png(neighbourhood_figure(name, days, when))


def neighbourhood_figure(name: str, days: Sequence[DayStats], when: str) -> Figure:
    """One neighbourhood's proposals and votes, day by day (asked for with a button under /stats)."""
    fig = Figure(figsize=HOOD_DAYS_SIZE, dpi=DPI, facecolor="white")
    _header(fig, t.chart_hood_title(name), t.chart_subtitle(when))
    if not days:
        _empty(fig)
        return fig
    ax = fig.add_axes(_rect(fig, left=0.85, top=1.45, right=MARGIN, bottom=HOOD_DAYS_SIZE[1] - 0.6))
    _per_day(ax, days, HOOD_SERIES)
    _legend(fig, ax, top=0.95, size=9.5)
    ax.grid(axis="y", color=GRID, linewidth=0.6)
    ax.set_axisbelow(True)
    _style_ticks(ax, 9)
    return fig


def _ylabel(ax, text: str) -> None:
    ax.set_ylabel(_fa(text), fontproperties=_font(10), color=SOFT)


def day_ticks(days: Sequence[DayStats]) -> list[int]:
    """Which days get a label: evenly spaced, at most MAX_DAY_TICKS, always the first."""
    step = max(1, -(-len(days) // MAX_DAY_TICKS))
    return list(range(0, len(days), step))


def day_tick_labels(days: Sequence[DayStats]) -> list[str]:
    """The x axis's labels (before shaping): Jalali day and month from messages_fa."""
    return [t.day_label(days[i].day) for i in day_ticks(days)]


def _day_label(days: Sequence[DayStats], value: float) -> str:
    index = round(value)
    return _fa(t.day_label(days[index].day)) if 0 <= index < len(days) else ""
