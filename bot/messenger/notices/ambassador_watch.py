"""Staff hear, once per ambassador, about joins that look manufactured (a JobQueue job)."""
from __future__ import annotations

from bot.campaign.services import Services
from bot.campaign.services.ambassadors import BURST_JOINS, BURST_WINDOW
from bot.messenger import render
from messages_fa import ambassadors as t

CHECK_EVERY = 600  # seconds


async def report_suspicious(services: Services, notifier) -> int:
    flagged = await services.ambassadors.newly_suspicious()
    for ambassador in flagged:
        hood = render.neighbourhood_name(services.config, ambassador.neighbourhood_id)
        await notifier.tell_staff(t.suspicious(ambassador.full_name or "", hood, BURST_JOINS,
                                               int(BURST_WINDOW.total_seconds() // 60)))
    return len(flagged)
