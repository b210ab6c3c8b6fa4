"""Each "once" of storage/interface.py with two OS processes pressing together, on every engine.

Each process runs the same operation over a list of targets (most collide), after a barrier;
on PostgreSQL under READ COMMITTED these hold only by the constraints and row locks the
repositories take (see storage/rows._locked), not by luck.
"""
from __future__ import annotations

import itertools

from domain import AMB_APPROVED, AMB_PENDING, AMB_REJECTED, APPROVED, FEASIBLE, NOT_FEASIBLE, REJECTED, Winner
from tests.storage import seed
from tests.storage.races import race_processes
from tests.storage.seed import HOOD, NOW

ROUNDS = 12
_users = itertools.count(5_000_000)


async def test_a_first_contact_creates_one_citizen_when_two_processes_see_it_together(repos, backend, address):
    users = [next(_users) for _ in range(ROUNDS)]
    first, second = await race_processes(backend.name, address, "enter", [("telegram", users), ("telegram", users)])
    assert [a + b for a, b in zip(first, second, strict=True)] == [1] * ROUNDS  # "created" told once each
    for user in users:
        assert (await repos.citizens.find("telegram", user)) is not None


async def test_a_proposal_is_decided_once_when_two_moderators_in_two_processes_press_together(
        repos, backend, address):
    author = await seed.citizen(repos)
    ids = [(await seed.pending(repos, author)).id for _ in range(ROUNDS)]
    approved, rejected = await race_processes(backend.name, address, "decide", [
        (ids, APPROVED, "telegram:900", None), (ids, REJECTED, "bale:901", "خارج از محدوده")])
    assert [a + b for a, b in zip(approved, rejected, strict=True)] == [1] * ROUNDS
    for pid, won in zip(ids, approved, strict=True):
        stored = await repos.proposals.get(pid)
        assert (stored.status, stored.decided_by) == ((APPROVED, "telegram:900") if won else (REJECTED, "bale:901"))


async def test_two_proposals_are_never_marked_copies_of_each_other_from_two_processes(repos, backend, address):
    author = await seed.citizen(repos)
    pairs = [((await seed.pending(repos, author)).id, (await seed.pending(repos, author)).id) for _ in range(ROUNDS)]
    forth, back = await race_processes(backend.name, address, "duplicate", [
        (pairs, "telegram:900"), ([(b, a) for a, b in pairs], "bale:901")])
    assert [a + b for a, b in zip(forth, back, strict=True)] == [1] * ROUNDS
    for a, b in pairs:
        first, second = await repos.proposals.get(a), await repos.proposals.get(b)
        assert (first.duplicate_of == b) != (second.duplicate_of == a)
        standing = second if first.duplicate_of == b else first
        assert standing.status != REJECTED and standing.duplicate_of is None


async def test_one_feasibility_verdict_when_two_reviewers_in_two_processes_judge_together(repos, backend, address):
    author = await seed.citizen(repos)
    ids = [(await seed.approved(repos, author)).id for _ in range(ROUNDS)]
    feasible, not_feasible = await race_processes(backend.name, address, "feasibility", [
        (ids, FEASIBLE, "telegram:900"), (ids, NOT_FEASIBLE, "bale:901")])
    # Each reviewer's card showed no verdict: the second finds one and changes nothing.
    assert [a + b for a, b in zip(feasible, not_feasible, strict=True)] == [1] * ROUNDS
    for pid, won in zip(ids, feasible, strict=True):
        assert (await repos.proposals.get(pid)).feasibility == (FEASIBLE if won else NOT_FEASIBLE)


async def test_an_application_is_decided_once_when_two_staff_in_two_processes_press_together(
        repos, backend, address):
    ids = []
    for _ in range(ROUNDS):
        person = await seed.citizen(repos)
        await repos.ambassadors.start_draft(person.id, NOW)
        await repos.ambassadors.update_draft(person.id, full_name="مریم احمدی", neighbourhood_id=HOOD,
                                             phone="09121234567", phone_hash=f"amb-{person.id}")
        assert (await repos.ambassadors.submit(person.id, NOW)).status == AMB_PENDING
        ids.append(person.id)
    approved, rejected = await race_processes(backend.name, address, "judge_ambassadors", [
        (ids, AMB_APPROVED, "telegram:900"), (ids, AMB_REJECTED, "bale:901")])
    assert [a + b for a, b in zip(approved, rejected, strict=True)] == [1] * ROUNDS
    for cid, won in zip(ids, approved, strict=True):
        assert (await repos.ambassadors.get(cid)).status == (AMB_APPROVED if won else AMB_REJECTED)


async def test_one_result_is_published_when_two_processes_publish_two_runs_together(repos, backend, address):
    author = await seed.citizen(repos)
    proposal = await seed.on_ballot(repos, author)
    winners = [Winner(HOOD, 1, proposal.id, proposal.code, proposal.title, proposal.cost, 0)]
    runs = [await repos.results.save("equal-shares", "telegram:900", NOW, {HOOD: (10**9, proposal.cost, 0)}, winners)
            for _ in range(2)]
    answers = await race_processes(backend.name, address, "publish", [(runs[0], "telegram:900"),
                                                                       (runs[1], "bale:901")])
    assert sorted(answers) == [False, True]
    assert (await repos.results.published()).id == runs[answers.index(True)]


async def test_a_lease_has_one_holder_when_two_processes_take_it_together(repos, backend, address):
    names = [f"sender-{n}" for n in range(ROUNDS)]
    first, second = await race_processes(backend.name, address, "lease", [(names, "pid-1"), (names, "pid-2")])
    assert [a + b for a, b in zip(first, second, strict=True)] == [1] * ROUNDS
    for name, won in zip(names, first, strict=True):
        assert (await repos.leases.holder(name))[0] == ("pid-1" if won else "pid-2")
