"""CitizenService: first contact, the neighbourhood and its lock, the reminder, the verified phone."""
from __future__ import annotations

from bot.campaign.services.citizens import (
    MAX_NAME_TYPED,
    ChooseResult,
    MoveCheck,
    MovePlan,
    NameMatch,
    PhoneResult,
    ReminderResult,
    after_choosing,
    after_verifying,
)
from tests.support.services import at, citizen, on_ballot, phone_of, proposal


async def test_first_contact_creates_the_citizen_once(services, repos):
    first, new = await services.citizens.enter("telegram", 7, 70)
    again, new_again = await services.citizens.enter("telegram", 7, 70)
    assert (new, new_again) == (True, False) and again.id == first.id
    stored = await repos.citizens.find("telegram", 7)
    assert stored.id == first.id and stored.chat_id == 70 and stored.neighbourhood_id is None
    # The same user id on the other messenger is another person.
    other, new_other = await services.citizens.enter("bale", 7, 70)
    assert new_other and other.id != first.id


def test_typed_names_match_exactly_partially_or_not_at_all(services):
    match = services.citizens.match_neighbourhoods
    assert [n.id for n in match("گلاب دره")] == ["golabdareh"]  # no ZWNJ typed
    assert [n.id for n in match("محله تجريش")] == ["tajrish"]  # Arabic yeh, the word «محله» around it
    assert {n.id for n in match("شهرک")} >= {"shahrak-naft"} and len(match("شهرک")) == 2
    assert match("پاریس") == [] and match("  ") == []
    assert match("تجریش" * MAX_NAME_TYPED) == []  # a paragraph is not a name


async def test_a_chosen_neighbourhood_is_stored_and_an_unknown_id_is_not(services, repos):
    person, _ = await services.citizens.enter("telegram", 8, 8)
    assert await services.citizens.choose_neighbourhood(person, "atlantis") is ChooseResult.UNKNOWN
    assert (await repos.citizens.get(person.id)).neighbourhood_id is None
    assert await services.citizens.choose_neighbourhood(person, "darband") is ChooseResult.CHOSEN
    assert (await repos.citizens.get(person.id)).neighbourhood_id == "darband"


async def test_after_the_first_vote_the_neighbourhood_is_locked(services, repos):
    author = await citizen(services, 1)
    submitted = await on_ballot(services, await proposal(services, author))
    voter = await citizen(services, 2, phone=phone_of(2))
    at(services, "voting")
    assert (await services.voting.cast(voter, submitted.id)).used == 1
    voter = await repos.citizens.get(voter.id)
    assert await services.citizens.choose_neighbourhood(voter, "darband") is ChooseResult.LOCKED
    assert (await repos.citizens.get(voter.id)).neighbourhood_id == "tajrish"
    # Choosing the neighbourhood they have is no change, so no refusal either.
    assert await services.citizens.choose_neighbourhood(voter, "tajrish") is ChooseResult.CHOSEN


async def test_the_reminder_is_stored_once_and_only_before_registration(services, repos):
    person = await citizen(services, 3)
    assert await services.citizens.remind_me(person) is ReminderResult.TOO_LATE  # registration is open
    assert not (await repos.citizens.get(person.id)).remind_me
    at(services, "before")
    assert await services.citizens.remind_me(person) is ReminderResult.STORED
    person = await repos.citizens.get(person.id)
    assert person.remind_me
    assert await services.citizens.remind_me(person) is ReminderResult.ALREADY


async def test_only_ones_own_iranian_mobile_verifies(services, repos):
    person = await citizen(services, 4)
    verify = services.citizens.verify_phone
    assert await verify(person, 4, 99, phone_of(4)) is PhoneResult.NOT_YOURS  # a forwarded contact card
    assert await verify(person, 4, None, phone_of(4)) is PhoneResult.NOT_YOURS  # typed in by hand
    assert await verify(person, 4, 4, "+14155550100") is PhoneResult.NOT_IRANIAN
    assert not (await repos.citizens.get(person.id)).verified
    assert await verify(person, 4, 4, "۰۹۱۲۰۰۰۰۰۰۴") is PhoneResult.VERIFIED  # Persian digits, local form
    person = await repos.citizens.get(person.id)
    assert person.verified
    assert await verify(person, 4, 4, phone_of(5)) is PhoneResult.ALREADY


async def test_one_phone_verifies_one_person_across_messengers(services, repos):
    await citizen(services, 5, phone=phone_of(5))
    on_bale = await citizen(services, 5, platform="bale")
    assert await services.citizens.verify_phone(on_bale, 5, 5, phone_of(5)) is PhoneResult.IN_USE
    assert not (await repos.citizens.get(on_bale.id)).verified


async def test_the_citizen_after_a_change_is_what_reading_them_again_returns(services, repos):
    """Handlers keep after_choosing / after_verifying instead of reading the citizen again."""
    person, _ = await services.citizens.enter("telegram", 9, 9)
    assert await services.citizens.choose_neighbourhood(person, "darband") is ChooseResult.CHOSEN
    person = after_choosing(person, "darband")
    assert person == await repos.citizens.get(person.id)
    assert await services.citizens.choose_neighbourhood(person, "darband") is ChooseResult.CHOSEN  # no change
    assert after_choosing(person, "darband") == await repos.citizens.get(person.id)
    assert await services.citizens.verify_phone(person, 9, 9, phone_of(9)) is PhoneResult.VERIFIED
    person = after_verifying(person)
    assert person == await repos.citizens.get(person.id)
    assert await services.citizens.verify_phone(person, 9, 9, phone_of(9)) is PhoneResult.ALREADY
    assert after_verifying(person) == await repos.citizens.get(person.id)


def test_a_name_with_a_typo_offers_the_closest_names_and_chooses_none(services):
    match = services.citizens.match_name
    assert [n.id for n in match("نیاورن").close] == ["niavaran"] and match("نیاورن").found == []
    assert [n.id for n in match("زعفرنیه").close][:2] == ["zafaranieh", "farmanieh"]
    assert [n.id for n in match("محله تجرش").close] == ["tajrish"]  # the word «محله» around it
    assert [n.id for n in match("زعفرانيه").found] == ["zafaranieh"]  # Arabic yeh: found, no fuzzing
    assert match("پاریس") == match("سلام") == match("x") == NameMatch([], [])
    assert len(match("ن").close) == 0 and match("تجریش" * MAX_NAME_TYPED).close == []


async def test_a_move_is_asked_first_keeps_the_draft_and_is_refused_after_a_vote(services, repos):
    person = await citizen(services, 11)  # in tajrish
    plan = services.citizens.plan_move
    assert await plan(person, "tajrish") == MovePlan(MoveCheck.CHOOSE)
    assert await plan(person, "atlantis") == MovePlan(MoveCheck.UNKNOWN)
    assert await plan(person, "darband") == MovePlan(MoveCheck.CONFIRM, has_draft=False)
    await services.proposals.start(person)
    await services.proposals.set_category(person, "green")
    assert await plan(person, "darband") == MovePlan(MoveCheck.CONFIRM, has_draft=True)
    newcomer, _ = await services.citizens.enter("telegram", 12, 12)
    assert await plan(newcomer, "darband") == MovePlan(MoveCheck.CHOOSE)  # a first choice needs no question

    author = await citizen(services, 13)
    submitted = await on_ballot(services, await proposal(services, author))
    voter = await citizen(services, 14, phone=phone_of(14))
    at(services, "voting")
    await services.voting.cast(voter, submitted.id)
    assert await plan(await repos.citizens.get(voter.id), "darband") == MovePlan(MoveCheck.LOCKED)
