"""Domain objects → Persian text, through messages_fa, for a given messenger's markup."""
from __future__ import annotations

import datetime as dt
from functools import lru_cache

from bot.campaign.calendar import PhaseInfo, days_left
from bot.campaign.config import Config
from bot.campaign.services.voting import BallotView, DetailsView
from bot.messenger.platforms import PLATFORMS, Platform, map_url
from domain import Draft, Phase, Proposal
from messages_fa import fit, texts
from messages_fa.dates import jalali_datetime

SHORT_DESCRIPTION = 160


def when(config: Config, moment: dt.datetime) -> str:
    return jalali_datetime(moment, config.timezone)


def phase_line(config: Config, info: PhaseInfo, now: dt.datetime) -> str:
    """From the phase's own boundaries, which follow the calendar as admins move it."""
    if info.phase is Phase.BEFORE:
        return texts.phase_before(when(config, info.ends), days_left(now, info.ends, config.timezone))
    if info.phase is Phase.PROPOSALS:
        return texts.phase_proposals(when(config, info.ends))
    if info.phase is Phase.REVIEW:
        return texts.phase_review(when(config, info.ends))
    if info.phase is Phase.VOTING:
        return texts.phase_voting(when(config, info.ends))
    return texts.phase_closed(when(config, info.starts))


def neighbourhood_name(config: Config, neighbourhood_id: str | None) -> str:
    hood = config.neighbourhood(neighbourhood_id)
    return hood.name if hood else "—"


def category_name(config: Config, category_id: str | None) -> str:
    category = config.category(category_id)
    return category.name if category else "—"


def preview(platform: Platform, config: Config, neighbourhood_id: str, draft: Draft) -> str:
    return texts.preview(
        platform.markup, neighbourhood_name(config, neighbourhood_id), category_name(config, draft.category_id),
        draft.title or "", draft.description or "", draft.photo_file_id is not None, draft.latitude is not None,
    )


@lru_cache(maxsize=4096)
def shorten(text: str, limit: int = SHORT_DESCRIPTION) -> str:
    """On one line, at most ``limit`` UTF-16 units (as the messengers count). Kept: a ballot shows
    the same few descriptions to every voter of a neighbourhood, at every vote."""
    return fit.shorten(" ".join(text.split()), limit)


def ballot(platform: Platform, config: Config, neighbourhood_id: str, view: BallotView) -> str:
    if not view.proposals:
        return texts.ballot_empty(platform.markup, neighbourhood_name(config, neighbourhood_id))
    items = [
        (view.number_of(p), p.title, category_name(config, p.category_id), shorten(p.description),
         None if view.vote_counts is None else view.vote_counts.get(p.id, 0), p.id in view.my_votes,
         texts.money(p.cost, config.money_unit) if p.cost else None)
        for p in view.proposals
    ]
    return texts.ballot(platform.markup, neighbourhood_name(config, neighbourhood_id), view.page + 1, view.pages,
                        view.used, view.limit, items)


def details(platform: Platform, config: Config, view: DetailsView) -> str:
    p = view.proposal
    location = None if p.latitude is None else map_url(p.latitude, p.longitude)
    return texts.proposal_details(
        platform.markup, view.number, neighbourhood_name(config, p.neighbourhood_id), p.title,
        category_name(config, p.category_id), texts.money(p.cost, config.money_unit) if p.cost else None,
        view.vote_count, p.description, location, view.mine, view.used, view.limit,
    )


# Rejected proposals don't count against the limit, so the list can grow: the newest ones, with
# reasons shortened, fit in one message (4,096 UTF-16 units) with the longest titles allowed.
MY_PROPOSALS_SHOWN = 8
REASON_SHOWN = 120


def my_proposals(platform: Platform, proposals: list[Proposal], money_unit: str) -> str:
    shown = proposals[-MY_PROPOSALS_SHOWN:]
    return texts.my_proposals(platform.markup, [
        (p.title, p.code, p.status, p.reject_reason and shorten(p.reject_reason, REASON_SHOWN),
         texts.review_state(p.feasibility, p.cost and texts.money(p.cost, money_unit),
                            p.feasibility_note and shorten(p.feasibility_note, REASON_SHOWN)))
        for p in shown
    ])


def staff_card(platform: Platform, config: Config, proposal: Proposal, footer: str = "",
               heading: str = texts.MODERATION_HEADING) -> str:
    """``footer``: the outcome or review state shown under the card in the same message;
    ``heading``: what the card is for (texts.staff_card)."""
    photo_note = None
    if proposal.photo_file_id and proposal.platform != platform.name:
        photo_note = texts.staff_photo_elsewhere(PLATFORMS[proposal.platform].persian_name)
    location = None if proposal.latitude is None else map_url(proposal.latitude, proposal.longitude)
    return texts.staff_card(
        platform.markup, proposal.code, neighbourhood_name(config, proposal.neighbourhood_id),
        category_name(config, proposal.category_id), proposal.title, proposal.description, location, photo_note,
        footer, heading,
    )
