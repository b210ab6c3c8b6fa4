"""The two allocation rules: `greedy` and `equal_shares`.

Both return the ids of the funded proposals in the order the rule selected them, and both are
recomputed with pabutools on the exported pabulib file in tests/test_results_rules.py.

Eligibility
    A proposal nobody approved is never funded, by either rule (pabutools' greedy would fund such
    proposals last, with score 0, if money were left; we do not spend public money on proposals no
    resident asked for). A proposal costing more than the neighbourhood's budget simply never fits.

Tie-break (`TIE_BREAK`, `tie_key`)
    Whenever two proposals are equally good for a rule (the same number of votes for `greedy`; the
    same exact price per unit of utility for `equal_shares`), the first in this order wins:
    1. more votes first;
    2. then the lower cost;
    3. then the smaller id: shorter id first, then by text (for our decimal ids: the proposal
       registered first).
    The key depends only on the proposal and the ballots, never on the order of the input, so
    shuffling proposals or ballots cannot change the result.

`greedy` — the rule of Madrid's CONSUL ("greedy by votes")
    Proposals in tie-break order (most votes first); each is funded if its cost still fits in what
    is left of the budget, otherwise it is skipped and the next one is tried. In pabutools terms:
    `greedy_utilitarian_welfare` with `Cost_Sat` (a project's score per unit of cost is its number
    of approvals), with the tie-break above, on the proposals that have at least one vote.

`equal_shares` — the Method of Equal Shares, "Add1" completion, then greedy by votes
    Approval ballots with cost utility (a voter's utility from a funded proposal they approved is
    its cost), exactly pabutools' `method_of_equal_shares(sat_class=Cost_Sat)`: every voter gets an
    equal share b = budget / voters; in each round, for every proposal whose supporters can still
    pay for it, find the smallest ρ such that supporters paying min(their money, ρ·cost) cover the
    cost; fund the proposal with the smallest ρ (tie-break above) and charge its supporters; stop
    when no proposal can be paid for.

    Plain MES usually leaves money unspent. The completion is "Add1", the one Aarau (Stadtidee
    2023) and Świecie (Budżet Obywatelski 2024) used, as equalshares.net's pages on those
    elections say (Wieliczka's Zielony Milion 2023 also used MES): rerun MES with
    every voter's share raised by one money unit (b, b+1, b+2, …) until the result spends more than
    the budget, and keep the last result that fitted — or stop at the first result to which no
    other approved proposal could be added. It is pabutools' `method_of_equal_shares(...,
    voter_budget_increment=1)`. What Add1 still leaves is then filled greedily by votes (the
    `greedy` rule, on the remaining money), so no fundable proposal is left out while money
    remains: pabutools' `completion_by_rule_combination` of those two rules.

    The step is one money unit of the election's costs (`per_voter_step` changes it; the campaign
    uses 1% of the first share, bot.campaign.services.results.ADD1_STEPS). The reruns are done by
    `bot.campaign.results.mes.EqualShares`, which works on groups of identical ballots and shares its
    bookkeeping between reruns, and does not run shares whose result it already knows.

Arithmetic is exact (integers over a common denominator; pabutools uses gmpy2 `mpq`), so equal
prices really are equal and ties are found exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from bot.campaign.results.election import Election, Project
from bot.campaign.results.mes import EqualShares

TIE_BREAK = "more votes first, then lower cost, then smaller id (shorter first, then by text)"


def tie_key(project: Project, votes: int) -> tuple[int, int, int, str]:
    """Sort key of `TIE_BREAK`: the smallest key wins a tie."""
    return (-votes, project.cost, len(project.id), project.id)


def _ranked(election: Election, votes: dict[str, int]) -> list[Project]:
    """Proposals with at least one vote, in tie-break order (= greedy-by-votes order)."""
    eligible = [p for p in election.projects if votes[p.id] > 0]
    eligible.sort(key=lambda p: tie_key(p, votes[p.id]))
    return eligible


def _fill_greedily(ranked: Sequence[Project], chosen: list[str], budget_left: int) -> list[str]:
    taken = set(chosen)
    for p in ranked:
        if p.id not in taken and p.cost <= budget_left:
            chosen.append(p.id)
            taken.add(p.id)
            budget_left -= p.cost
    return chosen


def greedy(election: Election) -> list[str]:
    """Most votes first; fund each proposal that still fits the budget, skip the others."""
    return _fill_greedily(_ranked(election, election.votes()), [], election.budget)


def equal_shares(election: Election, *, per_voter_step: int | Fraction = 1, skip_known: bool = True) -> list[str]:
    """Method of Equal Shares (cost utility), Add1 completion, then greedy by votes.

    `skip_known=False` reruns MES for every share of the completion, even those whose result is
    already known (the same winners, only slower: for the benchmark's comparison)."""
    election.arrays()  # the engine reads the encoded ballots; the votes are then counted from them
    votes = election.votes()
    ranked = _ranked(election, votes)
    chosen: list[str] = []
    n = election.num_voters
    if n and ranked:
        mes = EqualShares(ranked, election)
        chosen = [ranked[j].id for j in mes.add1(Fraction(election.budget, n), per_voter_step, election.budget, skip_known)]
    spent = sum(election.project(pid).cost for pid in chosen)
    return _fill_greedily(ranked, chosen, election.budget - spent)


def equal_shares_without_completion(election: Election, share: Fraction | None = None) -> list[str]:
    """One plain MES run (no completion) with `share` per voter (default budget / voters).

    pabutools' `method_of_equal_shares(sat_class=Cost_Sat)` without `voter_budget_increment`; for
    comparisons and diagnostics (the bench), not a rule of the campaign.
    """
    if not election.num_voters:
        return []
    ranked = _ranked(election, election.votes())
    mes = EqualShares(ranked, election)
    run = mes.run(Fraction(election.budget, mes.voters) if share is None else Fraction(share))
    return [ranked[j].id for j in run]
