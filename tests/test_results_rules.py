"""The allocation rules, recomputed independently with pabutools on the exported pabulib file.

For every instance the election is written with `bot.campaign.results.pabulib.write_pb`, parsed back with
`pabutools.election.parse_pabulib`, and counted by pabutools:

- greedy:       greedy_utilitarian_welfare(instance, profile, sat_class=Cost_Sat, tie_breaking=TB)
- equal shares: completion_by_rule_combination(instance, profile,
                    [method_of_equal_shares, greedy_utilitarian_welfare],
                    [{"sat_class": Cost_Sat, "voter_budget_increment": 1, "tie_breaking": TB},
                     {"sat_class": Cost_Sat, "tie_breaking": TB}])

where TB is `TieBreakingRule` with our `tie_key` (more votes, lower cost, smaller id) and the
instance is restricted to the proposals with at least one vote (our eligibility rule: nobody's
money goes to a proposal nobody approved). The winners must be the same **in the same order**
(selection order: MES rounds, then the greedy fill), which is stronger than the same set.
"""

from __future__ import annotations

import io
import random
import tempfile
from pathlib import Path

import pytest

pabutools = pytest.importorskip("pabutools")

from pabutools.election import Cost_Sat, Instance, parse_pabulib  # noqa: E402
from pabutools.rules import (  # noqa: E402
    completion_by_rule_combination,
    greedy_utilitarian_welfare,
    method_of_equal_shares,
)
from pabutools.tiebreaking import TieBreakingRule  # noqa: E402

from bot.campaign.results import TIE_BREAK, Election, Project, equal_shares, greedy  # noqa: E402
from bot.campaign.results.pabulib import write_pb  # noqa: E402
from bot.campaign.results.rules import tie_key  # noqa: E402

META = {"description": "محلهٔ آزمایشی؛ «من شهردارم»", "country": "Iran", "unit": "Tehran District 1",
        "instance": "test", "rule": "greedy / equal-shares", "date_begin": "2025-11-26"}


def export(election: Election) -> str:
    buf = io.StringIO()
    write_pb(election, META, buf)
    return buf.getvalue()


def pabutools_winners(election: Election) -> tuple[list[str], list[str]]:
    """(greedy, equal shares) as pabutools computes them from the exported file."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "election.pb"
        path.write_text(export(election), encoding="utf-8")
        instance, profile = parse_pabulib(str(path))
    votes = {p.name: int(instance.project_meta[p]["votes"]) for p in instance}
    eligible = Instance((p for p in instance if votes[p.name] > 0),
                        budget_limit=instance.budget_limit)
    tb = TieBreakingRule(lambda inst, prof, p: tie_key(Project(p.name, int(p.cost)), votes[p.name]))
    g = greedy_utilitarian_welfare(eligible, profile, sat_class=Cost_Sat, tie_breaking=tb)
    if profile.num_ballots() == 0:
        mes = completion_by_rule_combination(
            eligible, profile, [greedy_utilitarian_welfare], [{"sat_class": Cost_Sat, "tie_breaking": tb}])
    else:
        mes = completion_by_rule_combination(
            eligible, profile, [method_of_equal_shares, greedy_utilitarian_welfare],
            [{"sat_class": Cost_Sat, "voter_budget_increment": 1, "tie_breaking": tb},
             {"sat_class": Cost_Sat, "tie_breaking": tb}])
    return [p.name for p in g], [p.name for p in mes]


def check(election: Election) -> tuple[list[str], list[str]]:
    ours = greedy(election), equal_shares(election)
    theirs = pabutools_winners(election)
    assert ours == theirs, f"ours {ours} != pabutools {theirs}"
    for winners in ours:
        assert sum(election.project(pid).cost for pid in winners) <= election.budget
        assert len(set(winners)) == len(winners)
    return ours


def random_election(rng: random.Random) -> Election:
    m = rng.randint(5, 12)
    projects = [Project(str(i + 1), rng.choice([rng.randint(1, 40), rng.randint(10, 200)]),
                        f"پیشنهاد {i + 1}") for i in range(m)]
    weights = [rng.random() ** 2 + 0.01 for _ in projects]
    voters = []
    for _ in range(rng.randint(20, 200)):
        k = rng.randint(1, min(4, m))
        chosen: set[str] = set()
        while len(chosen) < k:
            chosen.add(rng.choices(projects, weights)[0].id)
        voters.append(chosen)
    total = sum(p.cost for p in projects)
    budget = rng.randint(max(1, total // 5), max(2, total * 3 // 4))
    return Election.from_voters(budget, projects, voters)


@pytest.mark.parametrize("seed", range(60))
def test_random_instances_match_pabutools(seed: int) -> None:
    check(random_election(random.Random(seed)))


def test_ties_follow_the_documented_rule() -> None:
    # 1, 2, 3 all have 4 votes; 2 and 3 cost the same: lower cost, then smaller id.
    projects = [Project("3", 5), Project("2", 5), Project("1", 7), Project("10", 5)]
    voters = [{"1"}, {"2"}, {"3"}, {"10"}] * 4
    e = Election.from_voters(10, projects, voters)
    g, mes = check(e)
    assert g == ["2", "3"]  # "10" sorts after "3": shorter id first
    assert TIE_BREAK.startswith("more votes first")


def test_tie_break_does_not_depend_on_input_order() -> None:
    rng = random.Random(7)
    e = random_election(rng)
    expected = greedy(e), equal_shares(e)
    for _ in range(5):
        projects = list(e.projects)
        ballots = list(e.ballots)
        rng.shuffle(projects)
        rng.shuffle(ballots)
        shuffled = Election(e.budget, tuple(projects), tuple(ballots))
        assert (greedy(shuffled), equal_shares(shuffled)) == expected
        assert export(shuffled) == export(e)


def test_project_costing_more_than_the_budget_is_skipped() -> None:
    projects = [Project("1", 150, "پارک بزرگ"), Project("2", 40), Project("3", 70)]
    voters = [{"1"}] * 10 + [{"2"}] * 3 + [{"3"}] * 2
    g, mes = check(Election.from_voters(100, projects, voters))
    assert "1" not in g and "1" not in mes
    assert g == ["2"]  # 3 does not fit after 2


def test_neighbourhood_without_votes_funds_nothing() -> None:
    e = Election.from_voters(100, [Project("1", 10), Project("2", 20)], [])
    assert check(e) == ([], [])


def test_one_voter() -> None:
    e = Election.from_voters(100, [Project("1", 60), Project("2", 50), Project("3", 30)], [{"1", "3"}])
    g, mes = check(e)
    assert set(g) == {"1", "3"}


def test_everyone_votes_alike() -> None:
    projects = [Project(str(i), c) for i, c in enumerate([30, 50, 20, 45], start=1)]
    e = Election.from_voters(100, projects, [{"1", "2", "4"}] * 50)
    assert len(e.ballots) == 1
    g, mes = check(e)
    assert g == ["1", "4"]  # all tied on votes: cheaper first; 2 (50) no longer fits
    assert set(mes) == {"1", "4"}


def tied_election(rng: random.Random) -> Election:
    """Few distinct costs and few voters: equal votes and equal MES prices happen often."""
    m = rng.randint(5, 10)
    projects = [Project(str(i + 1), rng.choice([10, 20, 30])) for i in range(m)]
    voters = [set(rng.sample([p.id for p in projects], rng.randint(1, 3))) for _ in range(rng.randint(20, 60))]
    return Election.from_voters(rng.choice([40, 60, 90]), projects, voters)


@pytest.mark.parametrize("seed", range(40))
def test_tie_heavy_random_instances_match_pabutools(seed: int) -> None:
    check(tied_election(random.Random(1000 + seed)))


def test_random_instances_are_not_trivial() -> None:
    # The comparison above could not catch much if equal shares always chose what greedy chooses.
    differ = sum(set(greedy(e)) != set(equal_shares(e))
                 for e in (random_election(random.Random(s)) for s in range(60)))
    assert differ >= 10


def test_export_is_anonymous_and_keeps_persian() -> None:
    e = Election.from_voters(100, [Project("2", 30, "نیمکت؛ پارک «لاله»\nخیابان"), Project("1", 20)],
                             [{"2"}, {"1", "2"}, {"2"}])
    text = export(e)
    assert "نیمکت؛ پارک «لاله» خیابان" in text
    votes = text.split("VOTES\n")[1].splitlines()
    assert votes == ["voter_id;vote", "1;1,2", "2;2", "3;2"]
    assert "num_votes;3" in text and "vote_type;approval" in text
