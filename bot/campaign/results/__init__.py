"""Counting the vote: the allocation rules and the pabulib export (pure Python, no bot imports).

- `election` — one neighbourhood's election: budget, proposals with their cost, grouped ballots;
- `rules` — `greedy` and `equal_shares` (with its "Add1" completion), and the tie-break rule;
- `pabulib` — `write_pb`, the `.pb` file anyone can recompute the result from.
"""

from bot.campaign.results.election import Election, Project
from bot.campaign.results.rules import TIE_BREAK, equal_shares, greedy

__all__ = ["TIE_BREAK", "Election", "Project", "equal_shares", "greedy"]
