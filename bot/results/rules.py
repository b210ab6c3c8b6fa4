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
    2023) and Wieliczka (Zielony Milion 2023) used, as described on equalshares.net: rerun MES with
    every voter's share raised by one money unit (b, b+1, b+2, …) until the result spends more than
    the budget, and keep the last result that fitted — or stop at the first result to which no
    other approved proposal could be added. It is pabutools' `method_of_equal_shares(...,
    voter_budget_increment=1)`. What Add1 still leaves is then filled greedily by votes (the
    `greedy` rule, on the remaining money), so no fundable proposal is left out while money
    remains: pabutools' `completion_by_rule_combination` of those two rules.

    The step is one money unit of the election's costs (`per_voter_step` changes it). With a fine
    unit (rials) and many voters that means many reruns, each exact; the rule stays fast because a
    run works on groups of identical ballots and on voters' "money classes" (voters whose approved
    funded proposals were the same have the same money left), never on single voters.

Arithmetic is exact (`fractions.Fraction`), as pabutools' (gmpy2 `mpq`), so equal prices really
are equal and ties are found exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from bot.results.election import Election, Project

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


def equal_shares(election: Election, *, per_voter_step: int | Fraction = 1) -> list[str]:
    """Method of Equal Shares (cost utility), Add1 completion, then greedy by votes."""
    votes = election.votes()
    ranked = _ranked(election, votes)
    chosen: list[str] = []
    n = election.num_voters
    if n and ranked:
        chosen = _mes_add1(election, votes, per_voter_step)
    spent = sum(election.project(pid).cost for pid in chosen)
    return _fill_greedily(ranked, chosen, election.budget - spent)


def equal_shares_without_completion(election: Election, share: Fraction | None = None) -> list[str]:
    """One plain MES run (no completion) with `share` per voter (default budget / voters).

    pabutools' `method_of_equal_shares(sat_class=Cost_Sat)` without `voter_budget_increment`; for
    comparisons and diagnostics (the bench), not a rule of the campaign.
    """
    votes = election.votes()
    if not election.num_voters:
        return []
    mes = _Mes(election, votes)
    run = mes.run(Fraction(election.budget, mes.n) if share is None else Fraction(share))
    return [mes.projects[j].id for j in run]


class _Mes:
    """Grouped-ballot MES, set up once and rerun for every per-voter share of the completion.

    Money classes: a class is a set of voters with the same money left. All voters start in class
    0. When a proposal is funded, the supporters in class k move to a class k' (the same for all of
    them: they pay the same), so a class is really "the funded proposals I approved", and each
    proposal only needs its supporters' count per class, which is small however many voters there
    are.
    """

    def __init__(self, election: Election, votes: dict[str, int]) -> None:
        projects = [p for p in election.projects if votes[p.id] > 0]
        projects.sort(key=lambda p: tie_key(p, votes[p.id]))
        self.projects = projects  # index = rank in tie-break order
        index = {p.id: i for i, p in enumerate(projects)}
        self.cost = [p.cost for p in projects]
        self.votes = [votes[p.id] for p in projects]
        self.budget = election.budget
        # Groups of identical ballots: their projects (as indices) and voter counts.
        self.group_projects: list[tuple[int, ...]] = []
        self.group_count: list[int] = []
        self.groups_of: list[list[int]] = [[] for _ in projects]
        for approved, count in election.ballots:
            g = len(self.group_count)
            members = tuple(sorted(index[pid] for pid in approved))
            self.group_projects.append(members)
            self.group_count.append(count)
            for j in members:
                self.groups_of[j].append(g)
        self.n = sum(self.group_count)

    def run(self, share: Fraction) -> list[int]:
        """One MES run with `share` per voter; the funded projects' indices in selection order."""
        cost = self.cost
        nproj = len(cost)
        class_money: list[Fraction] = [share]
        group_class = [0] * len(self.group_count)
        # per project: class -> supporters in it
        per_class: list[dict[int, int]] = [{0: v} for v in self.votes]
        remaining = set(range(nproj))
        # Exact ρ of each remaining project, None when its supporters' money changed since.
        rho: list[Fraction | None] = [None] * nproj
        # Lower bound of ρ (ρ only grows as voters spend), for skipping like pabutools does.
        bound: list[Fraction] = [Fraction(1, v) for v in self.votes]
        # The same as floats, only to order and skip cheaply; every decision is taken exactly.
        approx = [1.0 / v for v in self.votes]
        selected: list[int] = []
        while remaining:
            best: Fraction | None = None
            best_j = -1
            cutoff = float("inf")
            for j in sorted(remaining, key=approx.__getitem__):
                if approx[j] > cutoff:
                    break  # beyond float error of best: exactly greater too, and so are the rest
                if best is not None and bound[j] > best:
                    continue
                r = rho[j]
                if r is None:
                    r = self._rho(cost[j], per_class[j], class_money)
                    if r is None:  # its supporters can no longer pay for it, ever
                        remaining.discard(j)
                        continue
                    rho[j] = bound[j] = r
                    approx[j] = float(r)
                # Same ρ: the lower index wins, as indices follow the tie-break order.
                if best is None or r < best or (r == best and j < best_j):
                    best, best_j = r, j
                    cutoff = float(best) * (1 + 1e-9)
            if best is None:
                break
            selected.append(best_j)
            remaining.discard(best_j)
            price = best * cost[best_j]  # what a supporter with enough money pays
            moved: dict[int, int] = {}
            for k in per_class[best_j]:
                money = class_money[k]
                moved[k] = len(class_money)
                class_money.append(money - price if money > price else Fraction(0))
            touched: set[int] = set()
            group_projects, group_count = self.group_projects, self.group_count
            for g in self.groups_of[best_j]:
                old = group_class[g]
                new = moved[old]
                group_class[g] = new
                c = group_count[g]
                for j in group_projects[g]:
                    counts = per_class[j]
                    left = counts[old] - c
                    if left:
                        counts[old] = left
                    else:
                        del counts[old]
                    counts[new] = counts.get(new, 0) + c
                    touched.add(j)
            for j in touched:
                rho[j] = None
        return selected

    @staticmethod
    def _rho(cost: int, counts: dict[int, int], class_money: list[Fraction]) -> Fraction | None:
        classes = sorted(counts.items(), key=lambda kc: class_money[kc[0]])
        available = sum(class_money[k] * c for k, c in classes)
        if available < cost:
            return None
        paid = Fraction(0)
        left = sum(c for _, c in classes)
        for k, c in classes:
            money = class_money[k]
            # Everyone still in pays (cost - paid) / left, if the poorest of them has that much.
            if cost - paid <= left * money:
                return (cost - paid) / (left * cost)
            paid += money * c
            left -= c
        raise AssertionError("unreachable: available >= cost")  # pragma: no cover


def _mes_add1(election: Election, votes: dict[str, int], step: int | Fraction) -> list[str]:
    mes = _Mes(election, votes)
    cost, budget = mes.cost, mes.budget
    share = Fraction(budget, mes.n)
    previous: list[int] | None = None
    while True:
        outcome = mes.run(share)
        spent = sum(cost[j] for j in outcome)
        if spent > budget:
            outcome = previous if previous is not None else []
            break
        taken = set(outcome)
        if all(j in taken or cost[j] + spent > budget for j in range(len(cost))):
            break  # exhaustive among the approved proposals
        previous = outcome
        share += step
    return [mes.projects[j].id for j in outcome]
