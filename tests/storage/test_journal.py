"""The bot's own bookkeeping: handled updates with conversation states, leases, staff questions,
the audit log."""
from __future__ import annotations

import asyncio
import datetime as dt

from tests.storage.seed import NOW

HOUR = dt.timedelta(hours=1)
TTL = dt.timedelta(minutes=2)


async def test_handled_updates_and_the_states_they_left_are_recorded_together(repos):
    await repos.processed_updates.record("telegram", [10, 11], {("citizen", "[1, 1]"): '"MENU"'}, NOW)
    assert await repos.processed_updates.contains("telegram", 11)
    assert not await repos.processed_updates.contains("bale", 11)
    assert await repos.conversations.load("citizen") == {"[1, 1]": '"MENU"'}
    # Again (a re-delivered update), and a conversation that ended.
    await repos.processed_updates.record("telegram", [11], {("citizen", "[1, 1]"): None}, NOW)
    assert await repos.conversations.load("citizen") == {}
    assert await repos.processed_updates.count("telegram") == 2
    assert await repos.processed_updates.among("telegram", range(5, 1200)) == {10, 11}


async def test_prune_forgets_old_updates_but_keeps_the_newest(repos):
    for update_id in range(1, 6):
        await repos.processed_updates.record("bale", [update_id], {}, NOW + update_id * HOUR)
    assert await repos.processed_updates.newest("bale", NOW) == 5
    assert await repos.processed_updates.newest("bale", NOW + 6 * HOUR) is None
    assert await repos.processed_updates.prune("bale", NOW + 10 * HOUR, keep_last=2) == 3
    assert await repos.processed_updates.among("bale", range(1, 6)) == {4, 5}


async def test_conversation_states_are_saved_and_forgotten(repos):
    await repos.conversations.save("staff", "[9]", '"WAITING"')
    await repos.conversations.save("staff", "[9]", '"DONE"')
    assert await repos.conversations.load("staff") == {"[9]": '"DONE"'}
    await repos.conversations.save("staff", "[9]", None)
    assert await repos.conversations.load("staff") == {}


async def test_a_lease_has_one_holder_until_it_expires_or_is_taken_over(repos):
    assert await repos.leases.acquire("sender", "p1", NOW, TTL)
    assert not await repos.leases.acquire("sender", "p2", NOW, TTL)
    assert await repos.leases.acquire("sender", "p1", NOW + TTL / 2, TTL)  # renewed
    assert await repos.leases.holder("sender") == ("p1", NOW + TTL / 2 + TTL)
    assert await repos.leases.acquire("sender", "p2", NOW, TTL, take_over="p1")
    await repos.leases.release("sender", "p1")  # not theirs any more: nothing happens
    assert (await repos.leases.holder("sender"))[0] == "p2"
    assert await repos.leases.acquire("sender", "p3", NOW + 3 * TTL, TTL)  # p2's expired
    await repos.leases.release("sender", "p3")
    assert await repos.leases.holder("sender") is None


async def test_one_holder_when_two_connections_take_a_lease_together(repos, open_store):
    other = (await open_store()).repos
    answers = await asyncio.gather(*(r.leases.acquire("sender", holder, NOW, TTL)
                                     for r, holder in ((repos, "p1"), (other, "p2"), (repos, "p3"), (other, "p4"))))
    assert answers.count(True) == 1
    assert (await repos.leases.holder("sender"))[0] == ["p1", "p2", "p3", "p4"][answers.index(True)]


async def test_a_staff_question_is_open_until_answered_or_expired(repos):
    await repos.staff_inputs.expect("telegram", 900, "cost", "17", NOW)
    await repos.staff_inputs.expect("telegram", 900, "reason", "18", NOW)  # replaces the open one
    assert await repos.staff_inputs.expected("telegram", 900, NOW - HOUR) == ("reason", "18")
    assert await repos.staff_inputs.expected("telegram", 900, NOW + HOUR) is None
    assert await repos.staff_inputs.expected("bale", 900, NOW - HOUR) is None
    await repos.staff_inputs.clear("telegram", 900)
    assert await repos.staff_inputs.expected("telegram", 900, NOW - HOUR) is None


async def test_the_audit_log_reads_newest_first(repos):
    for n in range(3):
        await repos.audit.record("telegram:900", "approve", f"proposal T{n}", "pending", "approved", NOW + n * HOUR)
    entries = await repos.audit.recent(2)
    assert [e.target for e in entries] == ["proposal T2", "proposal T1"]
    assert [e.target for e in await repos.audit.recent(2, offset=2)] == ["proposal T0"]
    assert entries[0].at == NOW + 2 * HOUR
