"""Benchmark of the allocation rules: the whole district, and one neighbourhood through pabutools.

    .venv/bin/python -m bench.results            # 27 × 150 proposals × 50,000 voters
    .venv/bin/python -m bench.results --quick    # 3 × 150 × 5,000; pabutools runs the full rules

One figure a line on stdout (progress on stderr). See bench/README.md, section `bench.results`.
"""

from __future__ import annotations

import argparse
import io
import itertools
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.journey import _machine_busy
from bot.campaign.results import Election, Project, equal_shares, greedy
from bot.campaign.results.pabulib import write_pb
from bot.campaign.results.rules import equal_shares_without_completion, tie_key

# Money unit of the instance: thousand toman. A voter's share is SHARE units whatever the number
# of voters (the budget is SHARE × voters: 3,000,000 = 3 billion toman for 50,000 voters), so the
# Add1 completion, which raises the share one unit (~1.7%) per rerun, does comparable work in
# --quick. Proposals cost budget/150 … budget/5 (all fit the budget).
SHARE = 60


def log(*args: object) -> None:
    print(*args, file=sys.stderr, flush=True)


def neighbourhood(rng: random.Random, projects: int, voters: int) -> Election:
    budget = SHARE * voters
    ps = [Project(str(i + 1), rng.randint(budget // 150, budget // 5), f"پیشنهاد شمارهٔ {i + 1}") for i in range(projects)]
    # Zipf-like popularity (weight 1/rank), ranks shuffled so popularity and id are unrelated.
    weights = [1 / (r + 1) for r in range(projects)]
    rng.shuffle(weights)
    cum = list(itertools.accumulate(weights))
    ids = [p.id for p in ps]
    ballots: Counter[frozenset[str]] = Counter()
    for _ in range(voters):
        chosen: set[str] = set()
        while len(chosen) < 3:
            chosen.update(rng.choices(ids, cum_weights=cum, k=3 - len(chosen)))
        ballots[frozenset(chosen)] += 1
    return Election(budget, tuple(ps), tuple(ballots.items()))


def timed(fn, *args):
    t = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - t


def fresh(elections: list[Election]) -> list[Election]:
    """New Election objects: an election encodes its ballots once and keeps them (and its votes),
    so each figure is measured on elections no rule has read yet, encoding included."""
    return [Election(e.budget, e.projects, e.ballots) for e in elections]


def measured(fn):
    """`fn()`'s result, wall time, this process's CPU time, and the CPU the rest of the machine
    used meanwhile (in cores: above ~0.1 the wall time was disturbed by other work)."""
    busy, cpu, t = _machine_busy()[0], time.process_time(), time.perf_counter()
    result = fn()
    wall, cpu = time.perf_counter() - t, time.process_time() - cpu
    return result, wall, cpu, max(0.0, _machine_busy()[0] - busy - cpu) / wall


def pabutools_run(election: Election, full_mes: bool) -> dict[str, object]:
    from pabutools.election import Cost_Sat, Instance, parse_pabulib
    from pabutools.rules import (
        completion_by_rule_combination,
        greedy_utilitarian_welfare,
        method_of_equal_shares,
    )
    from pabutools.tiebreaking import TieBreakingRule

    buf = io.StringIO()
    write_pb(election, {"description": "bench.results", "country": "Iran", "unit": "bench"}, buf)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "n.pb"
        path.write_text(buf.getvalue(), encoding="utf-8")
        (instance, profile), parse_s = timed(parse_pabulib, str(path))
    votes = {p.name: int(instance.project_meta[p]["votes"]) for p in instance}
    eligible = Instance((p for p in instance if votes[p.name] > 0), budget_limit=instance.budget_limit)
    tb = TieBreakingRule(lambda inst, prof, p: tie_key(Project(p.name, int(p.cost)), votes[p.name]))
    g, g_s = timed(lambda: greedy_utilitarian_welfare(eligible, profile, sat_class=Cost_Sat, tie_breaking=tb))
    if full_mes:
        m, m_s = timed(lambda: completion_by_rule_combination(
            eligible, profile, [method_of_equal_shares, greedy_utilitarian_welfare],
            [{"sat_class": Cost_Sat, "voter_budget_increment": 1, "tie_breaking": tb},
             {"sat_class": Cost_Sat, "tie_breaking": tb}]))
    else:
        m, m_s = timed(lambda: method_of_equal_shares(eligible, profile, sat_class=Cost_Sat, tie_breaking=tb))
    return {"parse_s": parse_s, "greedy": [p.name for p in g], "greedy_s": g_s,
            "mes": [p.name for p in m], "mes_s": m_s}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--neighbourhoods", type=int)
    ap.add_argument("--projects", type=int, default=150)
    ap.add_argument("--voters", type=int)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--pabutools-full-mes", choices=("yes", "no"),
                    help="pabutools runs MES with the Add1 completion (default: only with --quick; "
                         "one plain MES run otherwise, as each Add1 rerun costs it a plain run)")
    args = ap.parse_args(argv)
    hoods = args.neighbourhoods or (3 if args.quick else 27)
    voters = args.voters or (5_000 if args.quick else 50_000)
    full_mes = (args.pabutools_full_mes or ("yes" if args.quick else "no")) == "yes"

    rng = random.Random(args.seed)
    log(f"building {hoods} neighbourhoods × {args.projects} proposals × {voters} voters ...")
    district, build_s = timed(lambda: [neighbourhood(rng, args.projects, voters) for _ in range(hoods)])
    print(f"instance: {hoods} neighbourhoods × {args.projects} proposals × {voters} voters, 3 approvals, "
          f"budget {SHARE * voters} (share {SHARE}/voter), seed {args.seed}")
    print(f"build_s: {build_s:.1f}")
    print(f"distinct_ballots_per_neighbourhood_mean: {sum(len(e.ballots) for e in district) / hoods:.0f}")

    elections = fresh(district)
    greedy_out, greedy_s, greedy_cpu, greedy_others = measured(lambda: [greedy(e) for e in elections])
    print(f"ours_greedy_district_s: {greedy_s:.3f}")
    elections = fresh(district)
    mes_out, mes_s, mes_cpu, mes_others = measured(lambda: [equal_shares(e) for e in elections])
    print(f"ours_equal_shares_district_s: {mes_s:.3f}")
    both_s = greedy_s + mes_s
    print(f"ours_both_rules_district_s: {both_s:.3f}")
    print(f"ours_both_rules_district_cpu_s: {greedy_cpu + mes_cpu:.3f}")
    print(f"other_processes_cpu_cores: {(greedy_others * greedy_s + mes_others * mes_s) / both_s:.2f}")
    elections = fresh(district)
    every_out, every_s = timed(lambda: [equal_shares(e, skip_known=False) for e in elections])
    print(f"ours_equal_shares_running_every_share_district_s: {every_s:.3f}")
    same_every = every_out == mes_out
    print(f"identical_winners_equal_shares_skipping_vs_every_share: {'yes' if same_every else 'NO'}")
    elections = fresh(district)
    plain_out, plain_s = timed(lambda: [equal_shares_without_completion(e) for e in elections])
    print(f"ours_plain_mes_district_s: {plain_s:.3f}")
    print(f"winners_greedy_mean: {sum(map(len, greedy_out)) / hoods:.1f}")
    print(f"winners_equal_shares_mean: {sum(map(len, mes_out)) / hoods:.1f}")

    e = district[0]
    log("pabutools on neighbourhood 1 ...")
    ref = pabutools_run(e, full_mes)
    ours_g, ours_g_s = timed(greedy, *fresh([e]))
    if full_mes:
        ours_m, ours_m_s = timed(equal_shares, *fresh([e]))
    else:
        ours_m, ours_m_s = timed(equal_shares_without_completion, *fresh([e]))
    mes_kind = "equal_shares_add1_greedy" if full_mes else "plain_mes"
    print(f"pabutools_parse_s: {ref['parse_s']:.2f}")
    print(f"pabutools_greedy_one_neighbourhood_s: {ref['greedy_s']:.2f}")
    print(f"pabutools_{mes_kind}_one_neighbourhood_s: {ref['mes_s']:.2f}")
    print(f"ours_greedy_one_neighbourhood_s: {ours_g_s:.4f}")
    print(f"ours_{mes_kind}_one_neighbourhood_s: {ours_m_s:.4f}")
    print(f"ratio_greedy_pabutools_over_ours: {ref['greedy_s'] / ours_g_s:.0f}")
    print(f"ratio_{mes_kind}_pabutools_over_ours: {ref['mes_s'] / ours_m_s:.1f}")
    same_g = ours_g == ref["greedy"]
    same_m = ours_m == ref["mes"]
    print(f"identical_winners_greedy: {'yes' if same_g else 'NO'}")
    print(f"identical_winners_{mes_kind}: {'yes' if same_m else 'NO'}")
    print(f"target_both_rules_district_at_most_3s: {'PASS' if both_s <= 3 else 'FAIL'} ({both_s:.2f} s)")
    return 0 if same_g and same_m and same_every else 1


if __name__ == "__main__":
    raise SystemExit(main())
