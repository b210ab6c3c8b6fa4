"""Similar proposals' storage (storage/search.py) on every engine: the trigram index in step with
the proposals, and a «me too» once per citizen."""
from __future__ import annotations

import asyncio

from domain import APPROVED, REJECTED
from messages_fa.normalize import search_words
from tests.storage import seed
from tests.storage.seed import HOOD, NOW


async def _found(repos, title: str, **who) -> list[int]:
    return [c.id for c in await repos.search.candidates(HOOD, search_words(title), **who)]


async def test_the_index_follows_submission_decisions_and_the_neighbourhood(repos):
    author, me = await seed.citizen(repos), await seed.citizen(repos)
    bins = await seed.pending(repos, author, title="سطل‌های زباله در بوستان")
    elsewhere = await seed.pending(repos, author, neighbourhood="darband", title="سطل زباله در پارک")
    assert await _found(repos, "سطل آشغال پارک") == [bins.id]  # staff: pending ones stand
    assert await _found(repos, "سطل آشغال پارک", citizen_id=me.id) == []  # someone else's pending
    assert await _found(repos, "سطل آشغال پارک", citizen_id=author.id) == [bins.id]  # one's own
    await repos.proposals.decide(bins.id, APPROVED, "telegram:900", NOW)
    assert await _found(repos, "سطل آشغال پارک", citizen_id=me.id) == [bins.id]
    assert await _found(repos, "سطل آشغال پارک", exclude=bins.id) == []
    assert elsewhere.id not in await _found(repos, "سطل زباله پارک")
    found = (await repos.search.candidates(HOOD, ["سطل"]))[0]
    assert (found.code, found.status, found.words, found.on_the_ballot) == (bins.code, APPROVED, ("سطل", "پارک"), False)


async def test_a_word_of_two_letters_is_found_as_a_whole_word_only(repos):
    author = await seed.citizen(repos)
    dogs = await seed.pending(repos, author, title="سگ‌های ولگرد")
    await seed.pending(repos, author, title="سگدانی")  # «سگ» inside another word
    assert await _found(repos, "سگ ها") == [dogs.id]


async def test_rows_written_without_a_key_get_one_at_the_first_search(repos, store):
    """bench/ and tools insert proposals with SQL of their own: the search fills their keys."""
    author = await seed.citizen(repos)
    bins = await seed.pending(repos, author, title="سطل زباله")
    await store.repos.db.write(lambda conn: conn.execute("UPDATE proposals SET search_key = NULL"))
    fresh = type(repos.search)(store.repos.db)  # another process: it has not filled yet
    assert [c.id for c in await fresh.candidates(HOOD, ["سطل"])] == [bins.id]


async def test_me_too_counts_once_per_citizen_even_pressed_twice_at_once(repos, open_store):
    author, me = await seed.citizen(repos), await seed.citizen(repos)
    bins = await seed.approved(repos, author)
    other = (await open_store()).repos
    results = await asyncio.gather(repos.search.support(bins.id, me.id, NOW), other.search.support(bins.id, me.id, NOW))
    assert sorted(results) == [False, True]
    assert await repos.search.support(bins.id, author.id, NOW)
    assert await repos.search.supporters([bins.id, 999]) == {bins.id: 2}
    await repos.proposals.decide((await seed.pending(repos, author)).id, REJECTED, "telegram:900", NOW, "تکراری")
    rejected = (await repos.proposals.by_citizen(author.id))[-1]
    assert not await repos.search.support(rejected.id, me.id, NOW)
