"""Building the state a contract needs through the interface's own methods (never SQL), so the
same helpers seed every engine."""
from __future__ import annotations

import datetime as dt
import itertools

from domain import (
    AMB_APPROVED,
    AMB_PENDING,
    APPROVED,
    FEASIBLE,
    NEIGHBOURHOODS,
    Ambassador,
    Audience,
    Citizen,
    Proposal,
    Watcher,
)
from storage import interface

NOW = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC)
HOOD, OTHER_HOOD, BROADCAST_HOOD = "tajrish", "darband", "elahiyeh"
_codes = itertools.count(1)
_users = itertools.count(1000)


def new_code() -> str:
    return f"T{next(_codes):06d}"


async def citizen(repos: interface.Repositories, platform: str = "telegram", user_id: int | None = None,
                  neighbourhood: str | None = HOOD) -> Citizen:
    user_id = next(_users) if user_id is None else user_id
    person, _ = await repos.citizens.get_or_create(platform, user_id, user_id, NOW)
    if neighbourhood is not None:
        assert await repos.citizens.set_neighbourhood(person.id, neighbourhood)
    return await repos.citizens.get(person.id)


async def voter(repos: interface.Repositories, neighbourhood: str = HOOD) -> Citizen:
    person = await citizen(repos, neighbourhood=neighbourhood)
    assert await repos.citizens.set_phone_hash(person.id, f"hash-{person.id}", NOW)
    return await repos.citizens.get(person.id)


async def pending(repos: interface.Repositories, author: Citizen, neighbourhood: str = HOOD,
                  title: str = "سطل زباله") -> Proposal:
    await repos.drafts.update(author.id, NOW, category_id="cleanliness", title=title, description="کنار پارک")
    proposal = await repos.proposals.submit_draft(author.id, neighbourhood, author.platform, new_code, 100, NOW)
    assert proposal is not None
    return proposal


async def approved(repos: interface.Repositories, author: Citizen, neighbourhood: str = HOOD) -> Proposal:
    proposal = await pending(repos, author, neighbourhood)
    assert await repos.proposals.decide(proposal.id, APPROVED, "telegram:900", NOW) is not None
    return await repos.proposals.get(proposal.id)


async def on_ballot(repos: interface.Repositories, author: Citizen, neighbourhood: str = HOOD,
                    cost: int = 1_000_000) -> Proposal:
    proposal = await approved(repos, author, neighbourhood)
    assert await repos.proposals.set_feasibility(proposal.id, FEASIBLE, "", "telegram:900", NOW) is not None
    assert await repos.proposals.set_cost(proposal.id, cost, "telegram:900", NOW) is not None
    proposal = await repos.proposals.get(proposal.id)
    assert proposal.on_the_ballot
    return proposal


async def ballot(repos: interface.Repositories, size: int, neighbourhood: str = HOOD) -> list[int]:
    author = await citizen(repos, neighbourhood=neighbourhood)
    return [(await on_ballot(repos, author, neighbourhood)).id for _ in range(size)]


async def ambassador(repos: interface.Repositories, payload: str, neighbourhood: str = HOOD) -> Ambassador:
    """An approved ambassador whose live link is ``payload``."""
    person = await citizen(repos, neighbourhood=neighbourhood)
    await repos.ambassadors.start_draft(person.id, NOW)
    await repos.ambassadors.update_draft(person.id, full_name="مریم احمدی", neighbourhood_id=neighbourhood,
                                         phone="09121234567", phone_hash=f"amb-hash-{person.id}")
    assert (await repos.ambassadors.submit(person.id, NOW)).status == AMB_PENDING
    assert await repos.ambassadors.change_status(person.id, AMB_APPROVED, (AMB_PENDING,), "telegram:900", NOW)
    assert await repos.ambassadors.replace_link(person.id, payload, NOW)
    return await repos.ambassadors.get(person.id)


async def sending(repos: interface.Repositories, recipients: int, platform: str = "telegram") -> tuple[int, list[int]]:
    """A started broadcast to ``recipients`` new citizens of a neighbourhood of their own; its
    delivery ids."""
    for _ in range(recipients):
        await citizen(repos, platform=platform, neighbourhood=BROADCAST_HOOD)
    broadcast = await repos.broadcasts.create("telegram:900", "text", "سلام", NOW)
    assert await repos.broadcasts.set_audience(broadcast.id, Audience(NEIGHBOURHOODS, (BROADCAST_HOOD,)))
    assert await repos.broadcasts.schedule(broadcast.id, NOW, Watcher(broadcast.id, "telegram", 900, None))
    assert await repos.broadcasts.start(broadcast.id, NOW) == recipients
    due = await repos.broadcasts.next_due(broadcast.id, platform, recipients + 10, NOW)
    assert len(due) == recipients
    return broadcast.id, [delivery.id for delivery in due]
