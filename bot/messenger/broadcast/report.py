"""Progress and final reports of a broadcast, as staff read them."""
from __future__ import annotations

import datetime as dt

from telegram import InlineKeyboardMarkup

from bot.campaign.services import Services
from bot.messenger.keyboards import broadcasts as keyboards
from domain import CANCELLED, SENDING, Broadcast, Progress
from messages_fa import broadcasts as t
from messages_fa.dates import jalali_datetime


def total(by_platform: dict[str, Progress]) -> Progress:
    values = list(by_platform.values())
    return Progress(*(sum(getattr(p, name) for p in values) for name in Progress.__dataclass_fields__))


def expected_end(services: Services, by_platform: dict[str, Progress], now: dt.datetime) -> dt.datetime:
    """Each messenger sends at its own rate, in parallel: the slowest one decides."""
    seconds = max((
        (p.pending + p.sending) / services.config.platforms[name].broadcast_rate
        for name, p in by_platform.items()), default=0.0)
    return now + dt.timedelta(seconds=seconds)


def _counts(p: Progress) -> list[str]:
    return t.counts_lines(p.sent, p.total, p.unreachable, p.failed, p.uncertain)


async def progress_message(services: Services, broadcast: Broadcast, platform: str,
                           final: bool = False) -> tuple[str, InlineKeyboardMarkup | None]:
    # Read again: a stop pressed a moment ago must not be drawn over with a running bar.
    broadcast = await services.repos.broadcasts.get(broadcast.id) or broadcast
    by_platform = await services.repos.broadcasts.progress(broadcast.id)
    counts = total(by_platform)
    heading = t.title(broadcast.id, broadcast.announcement)
    fraction = counts.finished / counts.total if counts.total else 1.0
    running = broadcast.status == SENDING and not final
    end = None
    if running and counts.total:
        end = jalali_datetime(expected_end(services, by_platform, services.clock.now()), services.config.timezone)
    text = t.progress(heading, fraction, _counts(counts), end)
    return text, keyboards.stop_sending(broadcast.id) if running else None


async def final_report(services: Services, broadcast: Broadcast,
                       rates: dict[str, tuple[float, float]] | None = None) -> str:
    """``rates``: per messenger, the rate its sender started at and the one it settled on."""
    text = await _final_text(services, broadcast)
    settled = [t.settled_rate(name, start, rate) for name, (start, rate) in sorted((rates or {}).items())]
    return "\n".join([text, *settled])


async def _final_text(services: Services, broadcast: Broadcast) -> str:
    broadcast = await services.repos.broadcasts.get(broadcast.id) or broadcast
    counts = total(await services.repos.broadcasts.progress(broadcast.id))
    started = broadcast.started_at or broadcast.created_at
    finished = broadcast.finished_at or services.clock.now()
    seconds = (finished - started).total_seconds()
    return t.final(t.title(broadcast.id, broadcast.announcement), broadcast.status == CANCELLED, _counts(counts), seconds)
