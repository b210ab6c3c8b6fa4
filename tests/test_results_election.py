"""The election the rules read: its checks, and the counts it keeps once computed (issue 13)."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from bot.campaign.results import Election, Project


def projects(n: int) -> tuple[Project, ...]:
    return tuple(Project(str(i), 10 * i) for i in range(1, n + 1))


def test_a_ballot_naming_an_unknown_project_is_refused_and_named() -> None:
    with pytest.raises(ValueError, match=r"unknown project\(s\) \['9'\]"):
        Election(100, projects(3), ((frozenset({"1", "9"}), 2),))


def test_empty_repeated_or_voterless_ballots_are_refused() -> None:
    with pytest.raises(ValueError, match="empty ballot"):
        Election(100, projects(3), ((frozenset(), 1),))
    with pytest.raises(ValueError, match="appears twice"):
        Election(100, projects(3), ((frozenset({"1"}), 1), (frozenset({"1"}), 2)))
    with pytest.raises(ValueError, match="must be positive"):
        Election(100, projects(3), ((frozenset({"1"}), 0),))


def test_votes_and_voters_match_a_plain_count_and_the_kept_votes_cannot_be_changed_by_a_caller() -> None:
    rng = random.Random(13)
    ps = projects(40)
    voters = [rng.sample([p.id for p in ps], rng.randint(1, 5)) for _ in range(3000)]
    election = Election.from_voters(10_000, ps, voters)
    expected = Counter(pid for ballot in voters for pid in ballot)
    votes = election.votes()
    assert votes == {p.id: expected[p.id] for p in ps}
    assert election.num_voters == 3000
    votes["1"] = -1  # a caller's copy: the election's own count stays
    assert election.votes()["1"] == expected["1"]
    # Counted from the encoded ballots (as Equal Shares does) instead of by the plain loop.
    encoded = Election.from_voters(10_000, ps, voters)
    lengths, approved, counts = encoded.arrays()
    assert int(counts.sum()) == 3000 and int(lengths.sum()) == len(approved)
    assert encoded.votes() == votes | {"1": expected["1"]}


def test_an_election_without_ballots_counts_nothing() -> None:
    election = Election(100, projects(2))
    assert election.votes() == {"1": 0, "2": 0}
    assert election.num_voters == 0
