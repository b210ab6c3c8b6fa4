"""Racing the same operation from several OS processes, each with its own connection.

Workers are started with ``spawn`` (a fresh interpreter, as a second bot process would be),
open the test's database through its backend, wait at a barrier so that their calls overlap,
run one job and send back what the interface returned.
"""
from __future__ import annotations

import asyncio
import multiprocessing
import traceback

from tests.storage.backends import BACKENDS
from tests.storage.seed import NOW

# Spawned interpreters import storage and the driver first: generous, never reached when well.
TIMEOUT = 120


async def _cast(repos, citizen_id: int, proposal_ids: list[int], neighbourhood: str, limit: int) -> list[str]:
    return [(await repos.votes.cast(citizen_id, pid, neighbourhood, limit, NOW))[0] for pid in proposal_ids]


async def _set_phone(repos, citizen_id: int, phone_hash: str) -> bool:
    return await repos.citizens.set_phone_hash(citizen_id, phone_hash, NOW)


async def _claim(repos, broadcast_id: int, delivery_ids: list[int], batch: int) -> list[int]:
    claimed: list[int] = []
    for start in range(0, len(delivery_ids), batch):
        claimed += await repos.broadcasts.mark_sending(broadcast_id, delivery_ids[start:start + batch]) or ()
    return claimed


async def _attribute(repos, citizen_id: int, payload: str) -> int | None:
    ambassador = await repos.ambassadors.attribute_by_link(citizen_id, payload, NOW)
    return None if ambassador is None else ambassador.citizen_id


async def _announce(repos, key: str) -> int | None:
    from domain import Audience
    return await repos.calendar.announce(key, NOW, NOW, "ثبت پیشنهاد آغاز شد", Audience())


async def _enter(repos, platform: str, user_ids: list[int]) -> list[bool]:
    return [(await repos.citizens.get_or_create(platform, user_id, user_id, NOW))[1] for user_id in user_ids]


async def _decide(repos, proposal_ids: list[int], status: str, by: str, reason: str | None) -> list[bool]:
    return [await repos.proposals.decide(pid, status, by, NOW, reason) is not None for pid in proposal_ids]


async def _duplicate(repos, pairs: list[tuple[int, int]], by: str) -> list[bool]:
    return [await repos.proposals.mark_duplicate(copy, original, "تکراری", by, NOW) is not None
            for copy, original in pairs]


async def _feasibility(repos, proposal_ids: list[int], verdict: str, by: str) -> list[bool]:
    # seen=None: what each reviewer's card showed, no verdict yet.
    return [await repos.proposals.set_feasibility(pid, verdict, "", by, NOW, seen=None) is not None
            for pid in proposal_ids]


async def _judge_ambassadors(repos, citizen_ids: list[int], status: str, by: str) -> list[bool]:
    from domain import AMB_PENDING
    return [await repos.ambassadors.change_status(cid, status, (AMB_PENDING,), by, NOW) is not None
            for cid in citizen_ids]


async def _publish(repos, result_id: int, by: str) -> bool:
    return await repos.results.publish(result_id, by, NOW)


async def _lease(repos, names: list[str], holder: str) -> list[bool]:
    import datetime as dt
    return [await repos.leases.acquire(name, holder, NOW, dt.timedelta(minutes=1)) for name in names]


JOBS = {"cast": _cast, "set_phone": _set_phone, "claim": _claim, "attribute": _attribute, "announce": _announce,
        "enter": _enter, "decide": _decide, "duplicate": _duplicate, "feasibility": _feasibility,
        "judge_ambassadors": _judge_ambassadors, "publish": _publish, "lease": _lease}


async def _work(backend: str, address: str, job: str, args: tuple, barrier) -> object:
    store = await BACKENDS[backend].open(address)
    try:
        barrier.wait(TIMEOUT)  # every process connected: now they race
        return await JOBS[job](store.repos, *args)
    finally:
        await store.close()


def _main(backend: str, address: str, job: str, index: int, args: tuple, barrier, results) -> None:
    try:
        results.put((index, "ok", asyncio.run(_work(backend, address, job, args, barrier))))
    except BaseException:
        results.put((index, "error", traceback.format_exc()))


def in_processes(backend: str, address: str, job: str, args_per_process: list[tuple]) -> list:
    """Runs ``job`` once per element of ``args_per_process``, each in its own process, all at
    once; returns their results in that order. A failure in any process fails the test."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(len(args_per_process))
    results = ctx.Queue()
    processes = [ctx.Process(target=_main, args=(backend, address, job, i, args, barrier, results))
                 for i, args in enumerate(args_per_process)]
    for process in processes:
        process.start()
    try:
        answers = dict((index, (status, value)) for index, status, value in
                       (results.get(timeout=TIMEOUT) for _ in processes))
    finally:
        for process in processes:
            process.join(TIMEOUT)
            if process.is_alive():
                process.kill()
    errors = [value for status, value in answers.values() if status != "ok"]
    assert not errors, "\n".join(errors)
    return [answers[i][1] for i in range(len(processes))]


async def race_processes(backend: str, address: str, job: str, args_per_process: list[tuple]) -> list:
    """in_processes() off the event loop: the test's own connection stays usable meanwhile."""
    return await asyncio.to_thread(in_processes, backend, address, job, args_per_process)
