"""Recompute one neighbourhood's winners of «Man Shahrdaram» from its pabulib file, with pabutools.

    pip install "pabutools>=1.2,<2"
    python3 recompute.py araj.pb

Prints the winners' ids (the proposals' tracking codes), in the order the rule chose them, one per
line, then the money spent and left. The public results pages ship this file as recompute.py beside
the .pb files; the bot never imports it (tests/test_site.py runs it on the pages' own files).

The rules, as the bot applies them (bot/campaign/results/rules.py says more):
- only proposals with at least one vote can be funded;
- ties: more votes first, then the lower cost, then the smaller id (shorter first, then by text);
- "greedy": most votes first, each funded if it still fits the budget;
- "equal-shares": the Method of Equal Shares with cost utility, completed by "Add1" (every voter's
  share raised in steps of 1% of the first share, at least one money unit), then filled greedily
  by votes.
"""
from __future__ import annotations

import sys

from pabutools.election import Cost_Sat, Instance, parse_pabulib
from pabutools.rules import completion_by_rule_combination, greedy_utilitarian_welfare, method_of_equal_shares
from pabutools.tiebreaking import TieBreakingRule

ADD1_STEPS = 100  # the Add1 step is the first share / ADD1_STEPS


def winners(path: str) -> tuple[list[str], int, int]:
    """(winners' ids in selection order, budget, money spent) of the election in `path`."""
    instance, profile = parse_pabulib(path)
    votes = {p.name: int(instance.project_meta[p]["votes"]) for p in instance}
    eligible = Instance((p for p in instance if votes[p.name] > 0), budget_limit=instance.budget_limit)
    ties = TieBreakingRule(lambda _instance, _profile, p: (-votes[p.name], int(p.cost), len(p.name), p.name))
    budget, voters = int(instance.budget_limit), profile.num_ballots()
    greedy = {"sat_class": Cost_Sat, "tie_breaking": ties}
    if instance.meta.get("rule") == "greedy" or voters == 0:
        chosen = greedy_utilitarian_welfare(eligible, profile, **greedy)
    else:
        step = max(1, budget // voters // ADD1_STEPS)
        chosen = completion_by_rule_combination(
            eligible, profile, [method_of_equal_shares, greedy_utilitarian_welfare],
            [{"sat_class": Cost_Sat, "voter_budget_increment": step, "tie_breaking": ties}, greedy])
    return [p.name for p in chosen], budget, sum(int(p.cost) for p in chosen)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python3 recompute.py NEIGHBOURHOOD.pb", file=sys.stderr)
        return 2
    chosen, budget, spent = winners(argv[0])
    for project_id in chosen:
        print(project_id)
    print(f"spent {spent} of {budget}, left {budget - spent}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
