"""The public results pages: static, self-contained files anyone can open on a phone (issue 17 §3).

Written when staff publish the results (/results → publish: handlers/results.py, into site.dir) and by
``manshahrdaram publish-site --out DIR``; the operator's web server serves the folder at site.url,
which the bot's results messages link to. The folder:

    index.html                  the district: every neighbourhood's budget, voters, winners, money left
    neighbourhoods/<id>.html    one neighbourhood: every proposal on its ballot with cost, votes, won or not
    pb/<id>.pb                  its election as a pabulib file (voters anonymized: bot/campaign/results/pabulib.py)
    recompute.py                recomputes the winners from a .pb file with pabutools (bot/outputs/site_recompute.py)
    charts/*.png                the /stats charts at the moment of publishing
    fonts/                      Noto Sans Arabic: phones and PCs without a Persian font read the pages the same

No script, no external request, no cookie. Nothing about a person reaches a page: no names, no
accounts, no phones, no ambassadors; proposals appear with their tracking code, title, cost and votes,
as on the ballot (tests/test_site.py checks a campaign's people against every file written).
"""
from __future__ import annotations

import asyncio
import html
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bot.campaign.config import Site
from bot.campaign.services import Services
from bot.outputs.persian_render import font_path
from domain import ResultRun
from messages_fa import site as t
from messages_fa.dates import jalali_datetime

HOODS_DIR, PB_DIR, CHARTS_DIR, FONTS_DIR = Site.HOODS_DIR, "pb", "charts", "fonts"
FONT_FILE = "NotoSansArabic.ttf"
SCRIPT_FILE = "recompute.py"
CHART_FILES = {"neighbourhoods": (t.CHART_HOODS, "neighbourhoods.png"), "days": (t.CHART_DAYS, "days.png")}


@dataclass(frozen=True)
class Entry:
    """A proposal on a neighbourhood's ballot as the public sees it."""

    code: str
    title: str
    cost: int
    votes: int
    rank: int | None  # its place among the winners; None: not funded


@dataclass(frozen=True)
class HoodPage:
    id: str
    name: str
    budget: int
    spent: int
    voters: int
    entries: tuple[Entry, ...]  # winners in the rule's order, then the others by votes
    pb: str  # the .pb file's text

    @property
    def winners(self) -> int:
        return sum(1 for e in self.entries if e.rank is not None)


@dataclass(frozen=True)
class SiteData:
    rule: str
    published: str  # Jalali, Tehran time
    money_unit: str
    hoods: tuple[HoodPage, ...]
    charts: dict[str, bytes]  # CHART_FILES key → PNG


async def gather(services: Services, run: ResultRun) -> SiteData:
    """Everything the pages show, read once: the run's winners, each ballot's proposals and its
    .pb file, and the /stats charts (drawn in a thread: matplotlib takes a second)."""
    from bot.outputs.charts import days_chart, neighbourhoods_chart  # noqa: PLC0415 (matplotlib loads here)

    config = services.config
    hoods = []
    for hood in config.neighbourhoods:
        ballots = await services.repos.results.ballots(hood.id)
        budget, spent, voters = run.neighbourhoods.get(hood.id, (config.results.budget(hood.id), 0, 0))
        rank = {w.proposal_id: w.rank for w in run.winners if w.neighbourhood_id == hood.id}
        entries = sorted((Entry(p.code, p.title, p.cost, p.votes, rank.get(p.proposal_id)) for p in ballots.projects),
                         key=lambda e: (e.rank is None, e.rank or 0, -e.votes, e.cost, len(e.code), e.code))
        hoods.append(HoodPage(hood.id, hood.name, budget, spent, voters, tuple(entries),
                              await services.results.pabulib(hood.id, run.rule, ballots)))
    report = await services.stats.report()
    when = services.stats.when(report.at)
    charts = dict(zip(CHART_FILES, await asyncio.gather(asyncio.to_thread(neighbourhoods_chart, report, when),
                                                        asyncio.to_thread(days_chart, report, when)), strict=True))
    published = jalali_datetime(run.published_at or run.computed_at, config.timezone)
    return SiteData(run.rule, published, config.money_unit, tuple(hoods), charts)


async def publish_site(services: Services, out: Path) -> list[Path]:
    """The published results' pages written into ``out`` (made if missing); the files written.
    Raises LookupError when nothing is published yet, OSError when ``out`` cannot be written."""
    run = await services.results.published()
    if run is None:
        raise LookupError("no results are published yet")
    data = await gather(services, run)
    return await asyncio.to_thread(write_site, data, out)


# --- writing -----------------------------------------------------------------------------------

def write_site(data: SiteData, out: Path) -> list[Path]:
    """Each file replaced whole (written beside, then renamed): a reader never gets half a page."""
    written = [_write(out / "index.html", district_page(data))]
    for hood in data.hoods:
        written.append(_write(out / HOODS_DIR / f"{hood.id}.html", hood_page(data, hood)))
        written.append(_write(out / PB_DIR / f"{hood.id}.pb", hood.pb))
    for key, png in data.charts.items():
        written.append(_write(out / CHARTS_DIR / CHART_FILES[key][1], png))
    written.append(_copy(font_path(), out / FONTS_DIR / FONT_FILE))
    written.append(_copy(Path(__file__).with_name("site_recompute.py"), out / SCRIPT_FILE))
    return written


def _write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    if isinstance(content, str):
        temporary.write_text(content, encoding="utf-8", newline="\n")
    else:
        temporary.write_bytes(content)
    os.replace(temporary, path)
    return path


def _copy(source: Path, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    shutil.copyfile(source, temporary)
    os.replace(temporary, path)
    return path


# --- pages -------------------------------------------------------------------------------------

def _e(text: str) -> str:
    return html.escape(text, quote=True)


STYLE = """
@font-face { font-family: "Noto Sans Arabic"; src: url("%(font)s") format("truetype"); font-weight: 100 900; }
* { box-sizing: border-box; }
body { margin: 0; font-family: "Noto Sans Arabic", Tahoma, sans-serif; line-height: 1.8; color: #111;
       background: #f6f7f6; font-size: 17px; }
header { background: #0b6048; color: #fff; padding: 1rem 1.1rem 1.2rem; }
header p { margin: 0; opacity: .9; font-size: .95rem; }
h1 { margin: .2rem 0; font-size: 1.45rem; line-height: 1.5; }
h2 { font-size: 1.2rem; margin: 1.6rem 0 .6rem; }
main { max-width: 46rem; margin: 0 auto; padding: 0 1rem 2rem; }
a { color: #0b6048; }
header a { color: #fff; }
.card { background: #fff; border: 1px solid #dde3df; border-radius: .6rem; padding: .7rem .9rem; margin: .6rem 0; }
.card.won { border: 2px solid #0b6048; }
.card h3 { margin: 0 0 .2rem; font-size: 1.05rem; line-height: 1.6; }
.facts { color: #444; font-size: .92rem; }
.badge { display: inline-block; font-size: .85rem; padding: 0 .5rem; border-radius: 1rem; background: #e7ecea; }
.won .badge { background: #0b6048; color: #fff; }
.bar { height: .45rem; background: #e7ecea; border-radius: .3rem; margin-top: .4rem; overflow: hidden; }
.bar span { display: block; height: 100%%; background: #0b6048; }
dl { display: grid; grid-template-columns: auto 1fr; gap: .2rem .8rem; margin: .6rem 0; }
dt { color: #555; } dd { margin: 0; font-weight: 600; }
figure { margin: 1rem 0; } img { max-width: 100%%; height: auto; border: 1px solid #dde3df; background: #fff; }
pre { direction: ltr; text-align: left; background: #fff; border: 1px solid #dde3df; padding: .6rem; overflow-x: auto;
      font-size: .9rem; line-height: 1.5; }
footer { max-width: 46rem; margin: 0 auto; padding: 1rem; color: #555; font-size: .85rem; }
"""


def _page(title: str, header: str, body: str, root: str) -> str:
    """``root``: the way back to the folder's top from this page ('' or '../')."""
    return (f'<!doctype html>\n<html lang="fa" dir="rtl">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>{_e(title)}</title>\n'
            f"<style>{STYLE % {'font': root + FONTS_DIR + '/' + FONT_FILE}}</style>\n</head>\n<body>\n"
            f"<header>{header}</header>\n<main>\n{body}\n</main>\n"
            f"<footer><p>{_e(t.PRIVACY)}</p></footer>\n</body>\n</html>\n")


def _facts(pairs: Iterable[tuple[str, str]]) -> str:
    return "<dl>" + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in pairs) + "</dl>"


def _rule(data: SiteData) -> str:
    return (f"<h2>{_e(t.rule_line(data.rule))}</h2>\n<p>{_e(t.RULES[data.rule][1])}</p>\n<p>{_e(t.TIE_BREAK)}</p>")


def _recompute(pb_files: list[tuple[str, str]], example: str, root: str) -> str:
    """pb_files: (link text, href)."""
    links = "".join(f'<li><a href="{_e(href)}" download>{_e(text)}</a></li>' for text, href in pb_files)
    return (f'<section id="recompute">\n<h2>{_e(t.RECOMPUTE)}</h2>\n<p>{_e(t.recompute_intro())}</p>\n'
            f'<pre><code>pip install "pabutools&gt;=1.2,&lt;2"\npython3 recompute.py {_e(example)}</code></pre>\n'
            f'<p>{_e(t.recompute_check())}</p>\n'
            f'<ul><li><a href="{root}{SCRIPT_FILE}" download>{_e(t.SCRIPT)}</a></li>{links}</ul>\n</section>')


def district_page(data: SiteData) -> str:
    header = (f"<p>{_e(t.ORGANISER_LINE)}</p><h1>{_e(t.TITLE)}</h1><p>{_e(t.published(data.published))}</p>")
    total = sum(h.budget for h in data.hoods)
    parts = [f"<p>{_e(t.district_totals(sum(h.voters for h in data.hoods), sum(h.winners for h in data.hoods), sum(h.spent for h in data.hoods), total, data.money_unit))}</p>",  # noqa: E501
             _rule(data), f"<h2>{_e(t.NEIGHBOURHOODS)}</h2>"]
    for hood in data.hoods:
        parts.append(f'<div class="card"><h3><a href="{HOODS_DIR}/{_e(hood.id)}.html">'
                     f"{_e(t.neighbourhood_heading(hood.name))}</a></h3>"
                     f"{_facts(t.summary(hood.budget, hood.spent, hood.voters, hood.winners, data.money_unit))}</div>")
    parts.append(f"<h2>{_e(t.CHARTS)}</h2>")
    for key in data.charts:
        caption, name = CHART_FILES[key]
        parts.append(f'<figure><img src="{CHARTS_DIR}/{name}" alt="{_e(caption)}" loading="lazy">'
                     f"<figcaption>{_e(caption)}</figcaption></figure>")
    example = f"{data.hoods[0].id}.pb" if data.hoods else "araj.pb"
    parts.append(_recompute([(t.neighbourhood_heading(h.name), f"{PB_DIR}/{h.id}.pb") for h in data.hoods],
                            example, ""))
    return _page(t.page_title(), header, "\n".join(parts), "")


def hood_page(data: SiteData, hood: HoodPage) -> str:
    header = (f'<p><a href="../index.html">{_e(t.BACK)}</a></p><p>{_e(t.ORGANISER_LINE)} — {_e(t.TITLE)}</p>'
              f"<h1>{_e(t.neighbourhood_heading(hood.name))}</h1><p>{_e(t.published(data.published))}</p>")
    parts = [_facts(t.summary(hood.budget, hood.spent, hood.voters, hood.winners, data.money_unit)),
             f"<p>{_e(t.rule_line(data.rule))}</p>", f"<h2>{_e(t.PROPOSALS)}</h2>"]
    most = max((e.votes for e in hood.entries), default=0) or 1
    for entry in hood.entries:
        won = entry.rank is not None
        parts.append(
            f'<div class="card{" won" if won else ""}"><h3 class="title">{_e(entry.title)}</h3>'
            f'<span class="badge">{_e(t.WON if won else t.NOT_WON)}</span> '
            f'<span class="facts">{_e(t.proposal_facts(entry.code, entry.cost, entry.votes, data.money_unit))}</span>'
            f'<div class="bar"><span style="width:{round(100 * entry.votes / most)}%"></span></div></div>')
    if not hood.entries:
        parts.append(f"<p>{_e(t.NO_PROPOSALS)}</p>")
    parts.append(_rule(data))
    parts.append(_recompute([(t.PB_OF, f"../{PB_DIR}/{hood.id}.pb")], f"{hood.id}.pb", "../"))
    return _page(t.page_title(hood.name), header, "\n".join(parts), "../")
