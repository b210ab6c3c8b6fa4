"""The Equal Shares engine's shortcuts never change a result.

tests/test_results_rules.py recomputes the whole rule with pabutools; here the engine is checked
against itself without its shortcuts: every share the completion skips really has the result of
the run before it, and the completion equals the plain loop that runs every share.
"""

from __future__ import annotations

import random
from collections import Counter
from fractions import Fraction

import pytest

from bot.campaign.results import Election, Project
from bot.campaign.results import mes as engine
from bot.campaign.results.rules import _ranked


def skewed_election(seed: int, projects: int = 24, voters: int = 800) -> Election:
    """Popularity ~ 1/rank, one to four approvals, costs up to a third of the budget."""
    rng = random.Random(seed)
    budget = rng.choice([10_000, 3_000_000, 10**9])
    ps = [Project(str(i + 1), rng.randint(budget // 80, budget // 3)) for i in range(projects)]
    weights = [1 / (r + 1) for r in range(projects)]
    rng.shuffle(weights)
    ballots: Counter[frozenset[str]] = Counter()
    for _ in range(voters):
        want = rng.randint(1, 4)
        chosen: set[str] = set()
        while len(chosen) < want:
            chosen.update(rng.choices([p.id for p in ps], weights=weights, k=want - len(chosen)))
        ballots[frozenset(chosen)] += 1
    return Election(budget, tuple(ps), tuple(ballots.items()))


def engine_of(election: Election) -> engine.EqualShares:
    return engine.EqualShares(_ranked(election, election.votes()), election)


def every_share(mes: engine.EqualShares, share: Fraction, step: Fraction, budget: int) -> list[int]:
    """Add1 as written on equalshares.net: one run for every share, nothing skipped."""
    previous: list[int] = []
    while True:
        outcome = mes.run(share)
        spent = sum(mes.cost[j] for j in outcome)
        if spent > budget:
            return previous
        if all(j in outcome or c + spent > budget for j, c in enumerate(mes.cost)):
            return outcome
        previous = outcome
        share += step


def both_ways(mes: engine.EqualShares, first: Fraction, step: Fraction, budget: int,
              monkeypatch: pytest.MonkeyPatch) -> tuple[list[int], int, int]:
    """The completion's result, after checking it equals running every share; and how many MES
    runs each took."""
    runs = 0
    real_run = engine._Run

    def counted(*args, **kwargs):
        nonlocal runs
        runs += 1
        return real_run(*args, **kwargs)

    monkeypatch.setattr(engine, "_Run", counted)
    fast = mes.add1(first, step, budget)
    fast_runs, runs = runs, 0
    assert fast == every_share(mes, first, step, budget)
    return fast, fast_runs, runs


@pytest.mark.parametrize("seed", range(12))
def test_every_share_below_the_horizon_funds_the_same(seed: int) -> None:
    election = skewed_election(seed)
    mes = engine_of(election)
    first = Fraction(election.budget, mes.voters)
    rng = random.Random(seed)
    checked = 0
    for factor in (1, Fraction(5, 4), Fraction(3, 2), 2, 3):
        share = first * factor
        run = engine._Run(mes, share, step=1e-12)
        if run.horizon == 0:
            continue
        reach = Fraction(min(run.horizon, 10 * float(share)))
        for t in (Fraction(1, 1000), Fraction(1, 3), Fraction(rng.randint(1, 999), 1000), Fraction(999, 1000)):
            assert mes.run(share + reach * t) == run.selected, (share, reach, t)
            checked += 1
    assert checked, "no run claimed a horizon: nothing was tested"


@pytest.mark.parametrize("seed", range(12))
def test_completion_equals_running_every_share(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    election = skewed_election(100 + seed)
    mes = engine_of(election)
    first = Fraction(election.budget, mes.voters)
    fast, fast_runs, slow_runs = both_ways(mes, first, max(Fraction(1), first / 100), election.budget, monkeypatch)
    assert fast_runs <= slow_runs


def test_the_completion_skips_shares_on_a_large_neighbourhood(monkeypatch: pytest.MonkeyPatch) -> None:
    election = skewed_election(7, projects=60, voters=6_000)
    mes = engine_of(election)
    first = Fraction(election.budget, mes.voters)
    fast, fast_runs, slow_runs = both_ways(mes, first, first / 100, election.budget, monkeypatch)
    assert fast_runs < slow_runs / 2, (fast_runs, slow_runs)
