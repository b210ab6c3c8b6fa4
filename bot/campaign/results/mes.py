"""The Method of Equal Shares engine (approval ballots, cost utility), fast enough to be rerun.

The Add1 completion reruns MES with a growing per-voter share (see `rules.equal_shares`): for one
neighbourhood of 50,000 voters, a hundred shares or so. Four things make that cheap, and none of
them changes a single decision:

Groups and money classes
    Voters with the same ballot are one group. A money class is the set of voters with the same
    money left; all start in class 0, and funding a proposal moves its supporters of class k to a
    new class k' (they pay the same). A proposal only needs how many of its supporters are in each
    class — a handful of numbers however many voters there are. Those counts are one array
    (proposal × class), so moving a proposal's supporters is a few numpy operations whatever the
    number of groups, and every proposal's money is one matrix-vector product per round.

A trie of bookkeeping, shared by the reruns
    Which group sits in which class, and the counts above, depend only on the proposals funded so
    far, not on the share. They are kept in a trie keyed by the funded proposals in order, so a
    rerun that funds the same proposals first (reruns differ mostly in their last choices) walks
    the trie instead of moving thousands of groups again. Only the money of each class, a few
    hundred numbers, is recomputed for each share.

Floats to look, integers to decide
    Every decision is exact, as in pabutools (gmpy2 `mpq`): equal prices are really equal, so
    ties are found and broken by the documented rule. Money is exact as integers over a common
    denominator. But most proposals are nowhere near the cheapest, and that is seen with floats:
    each class's money is also kept as the float nearest to it, the ρ of every proposal is first
    computed in floats with an error bound, and only those within that bound of the smallest (almost
    always just the winner) get their ρ computed exactly. Likewise for "can its supporters still
    pay for it?" (most proposals are found unable to pay at the end of every run, by that
    product alone).

Shares that need no run
    Each run also says for how much larger a share it would certainly fund the same proposals in
    the same order (`_Run`'s horizon, from bounds that hold because more money never makes a
    proposal dearer). The completion steps over those shares, as their result is already known.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from fractions import Fraction

import numpy as np

from bot.campaign.results.election import Election, Project

# Unit roundoff of a double. A float ρ sums at most one product per money class, each from a
# correctly rounded money value and all below the cost, so its absolute error is a small multiple
# of classes × _U; the bound used is a generous 64 × (classes + 1) × _U (ρ ≤ 1; costs and counts
# are exact integers).
_U = 2.0**-53


class _Funded:
    """Bookkeeping after one sequence of funded proposals (a node of the trie).

    `per_class[j, k]` is how many supporters of proposal j are in class k (a float array, exact:
    far fewer than 2**53 voters), so that one product with the classes' money gives every
    proposal's money at once; `group_class[g]` is group g's class; `classes` is how many classes
    exist. `moved` lists the classes whose members paid for the proposal that led here, in the
    order their new classes were numbered; `touched` are the proposals whose counts changed with it.
    """

    __slots__ = ("per_class", "group_class", "classes", "moved", "touched", "children", "_counts")

    def __init__(self, per_class: np.ndarray, group_class: np.ndarray, classes: int,
                 moved: Sequence[int], touched: Iterable[int]) -> None:
        self.per_class = per_class
        self.group_class = group_class
        self.classes = classes
        self.moved = moved
        self.touched = touched
        self.children: dict[int, _Funded] = {}
        self._counts: dict[int, dict[int, int]] = {}

    def counts(self, j: int) -> dict[int, int]:
        """Class → supporters of proposal j in it, for its classes with any (kept: every rerun
        through this node asks for the same ones; not to be changed by the caller)."""
        counts = self._counts.get(j)
        if counts is None:
            row = self.per_class[j]
            classes = row.nonzero()[0]
            counts = self._counts[j] = dict(zip(classes.tolist(), map(int, row[classes].tolist()), strict=True))
        return counts


class EqualShares:
    """MES for one election, set up once and run for any per-voter share.

    `ranked` are the proposals with at least one vote, in tie-break order: index = rank, and of two
    proposals with the same exact ρ the lower index wins. Ballots are read from `election`.
    """

    def __init__(self, ranked: Sequence[Project], election: Election) -> None:
        self.cost = [p.cost for p in ranked]
        self.projects = len(ranked)
        # Ballots as flat arrays: entry e is group `entry_group[e]` approving `entry_project[e]`
        # (by rank: a ballot approves only proposals with a vote, all of them ranked).
        lengths, approved, self.group_count = election.arrays()
        rank_of = np.zeros(len(election.projects), np.int64)
        position = {p.id: i for i, p in enumerate(election.projects)}
        rank_of[[position[p.id] for p in ranked]] = np.arange(self.projects)
        self.entry_project = rank_of[approved]
        self.entry_start = np.cumsum(lengths) - lengths
        self.group_length = lengths
        groups = len(lengths)
        entry_group = np.repeat(np.arange(groups), lengths)
        # A proposal's supporting groups, ascending. Voter counts stay far below 2**53, so the
        # float sums of bincount are exact.
        # (A stable sort of 16-bit integers is a radix sort: several times faster.)
        by_project = np.argsort(self.entry_project.astype(np.int16 if self.projects < 2**15 else np.int64),
                                kind="stable")
        per_project = np.bincount(self.entry_project, minlength=self.projects)
        self.groups_of = np.split(entry_group[by_project], np.cumsum(per_project)[:-1])
        votes = np.bincount(self.entry_project, weights=self.group_count[entry_group],
                            minlength=self.projects).astype(np.int64).tolist()
        self._entries: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self.voters = int(self.group_count.sum())
        self._lowest_rho = [1.0 / v if v else math.inf for v in votes]
        self._root = _Funded(np.array(votes, np.float64).reshape(-1, 1), np.zeros(groups, np.int32), 1, (), ())

    def run(self, share: Fraction) -> list[int]:
        """One MES run with `share` per voter; the funded proposals' indices in selection order."""
        return _Run(self, share, step=None).selected

    def add1(self, share: Fraction, step: Fraction | int, budget: int, skip: bool = True) -> list[int]:
        """The Add1 completion: run with share, share + step, share + 2·step, … and return the
        last outcome that fits `budget` — or the first to which nothing more could be added.

        The shares where the outcome is known not to change (each run's `horizon`) are not run:
        the loop goes on through them exactly as if they had been, so the result is the same.
        `skip=False` runs every share (for the benchmark's comparison).
        """
        previous: list[int] = []
        while True:
            run = _Run(self, share, step=float(step) if skip else None)
            spent = sum(self.cost[j] for j in run.selected)
            if spent > budget:
                return previous
            taken = set(run.selected)
            if all(j in taken or c + spent > budget for j, c in enumerate(self.cost)):
                return run.selected  # nothing else approved would still fit
            previous = run.selected
            steps = run.horizon / float(step) * (1 - 1e-9)  # shares below the horizon: known
            share += step * (max(1, math.ceil(steps)) if math.isfinite(steps) else 1)

    def _supporters_ballots(self, j: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For proposal j's supporting groups (`groups_of[j]`), every other proposal they approve:
        (position of the group in groups_of[j], proposal, voters) per approval; computed once."""
        if (entries := self._entries.get(j)) is None:
            groups = self.groups_of[j]
            lengths = self.group_length[groups]
            ends = np.cumsum(lengths)
            at = np.repeat(np.arange(len(groups)), lengths)
            projects = self.entry_project[np.arange(int(ends[-1])) - np.repeat(ends - lengths, lengths)
                                          + np.repeat(self.entry_start[groups], lengths)]
            entries = self._entries[j] = (at, projects, self.group_count[groups][at])
        return entries

    def _fund(self, node: _Funded, j: int) -> _Funded:
        """The bookkeeping after funding proposal j from `node`: its supporters change class.

        Whole arrays at a time (numpy): a popular proposal has thousands of supporting groups, and
        this is most of the work of the first run of each sequence of funded proposals."""
        moved = np.flatnonzero(node.per_class[j])
        groups = self.groups_of[j]
        local = np.zeros(node.classes, np.int64)  # old class → its position in `moved`
        local[moved] = np.arange(len(moved))
        old = local[node.group_class[groups]]
        group_class = node.group_class.copy()
        group_class[groups] = node.classes + old
        at, projects, voters = self._supporters_ballots(j)
        width = self.projects
        # How many of those who move, per (proposal they approve, old class).
        moving = np.bincount(old[at] * width + projects, weights=voters,
                             minlength=len(moved) * width).reshape(len(moved), width).T
        per_class = np.empty((width, node.classes + len(moved)))
        per_class[:, :node.classes] = node.per_class
        per_class[:, moved] -= moving
        per_class[:, node.classes:] = moving
        touched = np.flatnonzero(moving.any(axis=1)).tolist()
        return _Funded(per_class, group_class, node.classes + len(moved), moved.tolist(), touched)


class _Run:
    """One MES run with a given share, and its `horizon`: how much the share can grow while every
    decision of this run certainly stays the same (every share in [share, share + horizon) funds
    the same proposals in the same order).

    Exact money. Classes' money is kept as integers over one common denominator `den` (the share's
    denominator times, for every funded proposal, the number of its supporters who did not pay all
    they had), so exact comparisons and sums are integer arithmetic, never `Fraction`s.

    Why there is a horizon. Along the same funded proposals, raising the share never lowers a
    class's money and never raises a ρ (more money, a lower price; a lower price, more money left).
    So for a larger share the winner of each round is at most as dear as it is now, and the run
    stays the same as long as every other proposal is still dearer than the winner is now. What
    bounds how fast they can get cheaper: a class's money grows at most `growth` times as fast as
    the share (1 for everyone at first; when some supporters of a winner pay all they have, the
    price the others pay falls at most by what those can add, spread over the others), and any
    fixed set of supporters paying in full gives a lower bound of ρ, (cost − their money) /
    (the others × cost). The horizon is where such a lower bound of some proposal could reach a
    winner's ρ, or where the money of supporters who could not pay for a proposal could reach its
    cost. It is computed in floats with error margins on the safe side: an underestimate only
    costs an extra run, never a different result.
    """

    def __init__(self, mes: EqualShares, share: Fraction, step: float | None) -> None:
        """`step`: the completion's step, as a horizon shorter than that is of no use (it is then
        0, found sooner); None when no horizon is wanted."""
        self.cost = mes.cost
        self.worth = step or 0.0
        self.num = [share.numerator]  # class k has num[k] / den money left, exactly
        self.den = share.denominator
        self.money_f = [float(share)]  # the same, each the nearest float
        self.growth = [1.0]  # of each class: d(money)/d(share) is at most this
        self.floor = [1.0]  # and at least this
        self.rho_f: list[float | None] = [None] * len(self.cost)  # None: must be recomputed
        # A lower bound of each proposal's ρ (ρ only grows as supporters spend), to skip
        # proposals without recomputing them, and how fast that bound can fall as the share grows.
        self.lower = list(mes._lowest_rho)
        self.lower_fall = [0.0] * len(self.cost)
        self.remaining = {j for j, bound in enumerate(self.lower) if bound != math.inf}
        self.horizon = math.inf if step is not None else 0.0
        self.selected: list[int] = []
        node = mes._root
        while self.remaining:
            chosen = self._cheapest(node)
            if chosen is None:
                break
            j, (owed, partial) = chosen
            self.selected.append(j)
            self.remaining.discard(j)
            counts = node.counts(j)
            # Those who pay all they have: less money than the price owed / (partial × den).
            full = [k for k in counts if self.num[k] * partial < owed]
            self._against_the_others(j, counts, full, owed, partial)
            child = node.children.get(j)
            if child is None:
                child = node.children[j] = mes._fund(node, j)
            self._pay(counts, full, child.moved, owed, partial)
            for k in child.touched:
                self.rho_f[k] = None
            node = child

    def _pay(self, counts: dict[int, int], full: list[int], moved: Sequence[int], owed: int,
             partial: int) -> None:
        """The winner's supporters pay: the price is owed / (partial × den) each, where `partial`
        supporters pay it and those in `full` all they have. The classes in `moved` get new
        classes, numbered in that order."""
        num, growth, floor = self.num, self.growth, self.floor
        # A new denominator partial × den, so that every amount stays an integer.
        if partial != 1:
            self.num = num = [n * partial for n in num]
            self.den *= partial
        price_fall = sum(growth[k] * counts[k] for k in full) / partial
        paid_all = set(full)
        for old in moved:
            num.append(0 if old in paid_all else num[old] - owed)
            self.money_f.append(num[-1] / self.den)
            growth.append((growth[old] + price_fall) * (1 + 1e-12))
            floor.append(0.0 if old in paid_all else floor[old])

    def _cheapest(self, node: _Funded) -> tuple[int, tuple[int, int]] | None:
        """The proposal with the smallest exact ρ (lowest index on a tie) and that ρ, or None."""
        tol = self.tol = 64 * (len(self.num) + 1) * _U
        self.node, self.available, self.available_growth = node, None, None
        lower, rho_f = self.lower, self.rho_f
        best = math.inf
        seen: list[tuple[float, int]] = []
        for j in sorted(self.remaining, key=lower.__getitem__):
            if lower[j] > best + 2 * tol:
                break  # beyond the error bound of the best: so are all that follow
            r = rho_f[j]
            if r is None:
                r = self._rho_float(j, tol)
                if r is None:  # its supporters can no longer pay for it, in this run
                    self.remaining.discard(j)
                    continue
                rho_f[j] = lower[j] = r
            seen.append((r, j))
            best = min(best, r)
        winner: tuple[int, tuple[int, int]] | None = None
        for r, j in sorted(seen, key=lambda rj: rj[1]):  # lowest index first: it wins ties
            if r <= best + 2 * tol:
                rho = self._rho_exact(j, node.counts(j))
                # ρ = owed / (partial × den × cost): compare two by cross-multiplying.
                if rho is not None and (winner is None or rho[0] * winner[1][1] * self.cost[winner[0]]
                                        < winner[1][0] * rho[1] * self.cost[j]):
                    winner = j, rho
        return winner

    def _rho_exact(self, j: int, counts: dict[int, int]) -> tuple[int, int] | None:
        """Proposal j's exact ρ as (owed, partial): supporters who still have money pay
        owed / (partial × den) each, and ρ = that / cost; None when all their money falls short."""
        num, money_f = self.num, self.money_f
        # Poorest first; the floats order all but near-equal amounts without comparing integers.
        classes = sorted(counts.items(), key=lambda kc: (money_f[kc[0]], num[kc[0]]))
        owed = self.cost[j] * self.den  # still to be paid, in units of 1 / den
        partial = sum(counts.values())
        for k, c in classes:
            # Everyone still in pays owed / partial, if the poorest of them has that much. Past the
            # last class this has asked whether all their money covers the cost.
            if owed <= partial * num[k]:
                return owed, partial
            owed -= num[k] * c
            partial -= c
        return None

    def _rho_float(self, j: int, tol: float) -> float | None:
        """Proposal j's ρ in floats (error below `tol`), or None when its supporters cannot pay;
        sets how fast its lower bound can fall, or bounds the horizon by when they could pay."""
        cost, growth = self.cost[j], self.growth
        money_f, node = self.money_f, self.node
        # Most calls end here (at the end of every run, no proposal left can be paid for): the
        # money of every proposal's supporters, one product for the round (one float sum over the
        # classes each, as the bound `tol` allows).
        if self.available is None:
            self.available = (node.per_class @ np.array(money_f)).tolist()
        available = self.available[j]
        if available < cost * (1 - tol):
            if self.horizon:
                if self.available_growth is None:
                    self.available_growth = (node.per_class @ np.array(growth)).tolist()
                self._until(cost - available - 2 * tol * cost, self.available_growth[j])
            return None
        counts = node.counts(j)
        if available <= cost * (1 + tol):  # too close to call with floats: decide exactly
            self.horizon = 0.0  # and do not try to say for how long
            return self._rho_exact_float(j, counts)
        classes = sorted([(money_f[k], c, k) for k, c in counts.items()])
        paid = full_growth = 0.0
        left = sum(counts.values())
        for m, c, k in classes:
            if cost - paid <= left * m:
                self.lower_fall[j] = full_growth / (left * cost) * (1 + 1e-9)
                return (cost - paid) / (left * cost)
            paid += m * c
            full_growth += growth[k] * c
            left -= c
        self.horizon = 0.0  # rounding ran past the end: decide exactly
        return self._rho_exact_float(j, counts)

    def _rho_exact_float(self, j: int, counts: dict[int, int]) -> float | None:
        rho = self._rho_exact(j, counts)
        return None if rho is None else rho[0] / (rho[1] * self.den * self.cost[j])

    def _against_the_others(self, j: int, counts: dict[int, int], full: list[int], owed: int,
                            partial: int) -> None:
        """Bounds the horizon by when another proposal's lower bound could reach the winner's ρ.

        The winner gets cheaper too: those paying all they have get at least `floor` more money
        per unit of share, which lowers the others' price by at least `rise` × cost — while they
        still pay all they have (up to `cap`); after that it gets no dearer.
        """
        if not self.horizon:
            return
        cost, money_f, floor = self.cost[j], self.money_f, self.floor
        price = owed / (partial * self.den)
        rho = price / cost
        rise = sum(floor[k] * counts[k] for k in full) / (partial * cost) * (1 - 1e-9)
        cap = math.inf
        for k in full:
            speed = floor[k] + rise * cost
            if speed > 0:
                cap = min(cap, (price - money_f[k] - 4 * _U * price) / speed * (1 - 1e-9))
        cap = max(cap, 0.0)
        margin = 4 * self.tol
        lower, fall = self.lower, self.lower_fall
        horizon, worth = self.horizon, self.worth
        for k in self.remaining:
            gap = lower[k] - rho - margin
            if gap <= 0:
                self.horizon = 0.0
                return
            f = fall[k]
            h = gap / (f - rise) if f > rise else math.inf
            if h >= cap:  # the winner stops getting cheaper first
                h = (gap + rise * cap) / f if f > 0 else math.inf
            if h < horizon:
                horizon = h
                if horizon < worth:
                    self.horizon = 0.0
                    return
        self.horizon = horizon

    def _until(self, gap: float, fall: float) -> None:
        """Something is now `gap` (margin for errors already taken off) away from changing a
        decision and comes at most `fall` closer per unit of share."""
        if gap <= 0 or gap < fall * self.worth:  # (too close to be of use)
            self.horizon = 0.0
        elif fall > 0:
            self.horizon = min(self.horizon, gap / fall)
