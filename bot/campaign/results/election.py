"""One neighbourhood's election, as the allocation rules see it.

Ballots are grouped: each distinct approval set appears once with the number of voters who cast
it, so voters with the same ballot are handled together (50,000 voters with three approvals each
among 150 proposals make far fewer distinct ballots, and the rules never look at a voter alone).
"""

from __future__ import annotations

import itertools
import operator
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

# Ids go into the pabulib file as they are: a vote is a comma-separated list of ids inside a
# semicolon-separated row, so neither character (nor white space, which pabulib parsers strip) may
# appear in one.
_FORBIDDEN_IN_ID = frozenset(",;\"\n\r\t ")


@dataclass(frozen=True, slots=True)
class Project:
    """A proposal on the ballot: `cost` in whole money units (the config's unit), > 0."""

    id: str
    cost: int
    name: str = ""

    def __post_init__(self) -> None:
        if not self.id or any(ch in _FORBIDDEN_IN_ID for ch in self.id):
            raise ValueError(f"project id {self.id!r}: empty, or has a comma, semicolon, quote or space")
        if isinstance(self.cost, bool) or not isinstance(self.cost, int) or self.cost <= 0:
            raise ValueError(f"project {self.id}: cost must be a positive integer, got {self.cost!r}")


@dataclass(frozen=True, slots=True)
class Election:
    """`budget` for the neighbourhood, its `projects`, and `ballots` as (approval set, voters).

    Each approval set is non-empty, names only projects of this election and appears once (build
    with `Election.from_voters` to get that for free).
    """

    budget: int
    projects: tuple[Project, ...]
    ballots: tuple[tuple[frozenset[str], int], ...] = ()
    _by_id: dict[str, Project] = field(init=False, repr=False, compare=False)
    _arrays: tuple[np.ndarray, np.ndarray, np.ndarray] | None = field(init=False, repr=False, compare=False,
                                                                      default=None)
    _votes: dict[str, int] | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        if isinstance(self.budget, bool) or not isinstance(self.budget, int) or self.budget < 0:
            raise ValueError(f"budget must be a non-negative integer, got {self.budget!r}")
        by_id: dict[str, Project] = {}
        for p in self.projects:
            if p.id in by_id:
                raise ValueError(f"project id {p.id} appears twice")
            by_id[p.id] = p
        object.__setattr__(self, "_by_id", by_id)
        seen: set[frozenset[str]] = set()
        for approved, count in self.ballots:
            if not approved:
                raise ValueError("an empty ballot: a voter who approved nothing has not voted")
            if not by_id.keys() >= approved:  # (`approved - keys` would walk all the keys)
                raise ValueError(f"ballot approves unknown project(s) {sorted(approved - by_id.keys())}")
            if approved in seen:
                raise ValueError(f"ballot {sorted(approved)} appears twice: group it")
            if not isinstance(count, int) or count <= 0:
                raise ValueError(f"ballot {sorted(approved)}: voter count must be positive")
            seen.add(approved)

    @classmethod
    def from_voters(
        cls, budget: int, projects: Iterable[Project], approvals: Iterable[Iterable[str]]
    ) -> Election:
        """Group one approval set per voter; voters who approved nothing are left out."""
        counts = Counter(frozenset(a) for a in approvals)
        counts.pop(frozenset(), None)
        return cls(budget, tuple(projects), tuple(counts.items()))

    def project(self, project_id: str) -> Project:
        return self._by_id[project_id]

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The ballots as arrays, computed once (both rules and the count of votes read them):
        each ballot's number of approvals, the approved projects' positions in `projects` (ballot
        after ballot), and each ballot's number of voters."""
        if self._arrays is None:
            position = {p.id: i for i, p in enumerate(self.projects)}
            approvals = [approved for approved, _ in self.ballots]
            lengths = np.fromiter(map(len, approvals), np.int64, len(approvals))
            approved = np.fromiter(map(position.__getitem__, itertools.chain.from_iterable(approvals)),
                                   np.int64, int(lengths.sum()))
            voters = np.fromiter(map(operator.itemgetter(1), self.ballots), np.int64, len(approvals))
            object.__setattr__(self, "_arrays", (lengths, approved, voters))
        return self._arrays  # type: ignore[return-value]

    @property
    def num_voters(self) -> int:
        return sum(map(operator.itemgetter(1), self.ballots))

    def votes(self) -> dict[str, int]:
        """Approvals per project id (every project present, 0 when nobody approved it)."""
        if self._votes is None:
            if self._arrays is None:  # (greedy needs no arrays: a plain loop is quicker than encoding)
                votes = dict.fromkeys(self._by_id, 0)
                for approved, count in self.ballots:
                    for pid in approved:
                        votes[pid] += count
            else:  # already encoded for Equal Shares: one bincount (exact: far fewer than 2**53 voters)
                lengths, approved_at, voters = self._arrays
                counts = np.bincount(approved_at, weights=np.repeat(voters, lengths), minlength=len(self.projects))
                votes = dict(zip(self._by_id, counts.astype(np.int64).tolist(), strict=True))
            object.__setattr__(self, "_votes", votes)
        return dict(self._votes)  # type: ignore[arg-type]
