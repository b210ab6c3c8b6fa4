"""Callback data (bot/messenger/buttons.py): every family packs the very strings the bot has always sent —
buttons already on people's phones keep working after an update — and reads them back; anything
else is nobody's."""
from __future__ import annotations

import pytest

from bot.messenger import buttons as bt

# (what a keyboard packs, the data the bot sent before the codecs existed)
SENT = [
    (bt.Neighbourhood("tajrish"), "n:tajrish"),
    (bt.Neighbourhood("darband-2"), "n:darband-2"),
    (bt.MoveNeighbourhood("tajrish"), "nm:tajrish"),
    (bt.MoveNeighbourhood(None), "nm:-"),
    (bt.AllNeighbourhoods(), "nl:all"),
    (bt.FromText(True), "ft:y"),
    (bt.FromText(False), "ft:n"),
    (bt.Category("sport"), "c:sport"),
    (bt.Preview(bt.Preview.OK), "pv:ok"),
    (bt.Preview(bt.Preview.EDIT), "pv:edit"),
    (bt.Preview(bt.Preview.CANCEL), "pv:cancel"),
    *((bt.EditField(field), f"pe:{field}") for field in ("cat", "title", "desc", "media", "back")),
    (bt.Vote(123, 0), "v:123:0"),
    (bt.Vote(123, 4, withdraw=True), "w:123:4"),
    (bt.Vote(123, 1, details=True), "v:123:1:d"),
    (bt.Vote(123, 1, withdraw=True, details=True), "w:123:1:d"),
    (bt.Details(123), "i:123"),
    (bt.BallotPage(2), "p:2"),
    (bt.Moderation(77, approve=True), "m:a:77"),
    (bt.Moderation(77, approve=False), "m:r:77"),
    *((bt.Review(action, 5), f"rv:{action}:5") for action in ("a", "r", "c", "d", "n", "rt")),
    (bt.Review(bt.Review.READY_REASON, 5, 3), "rv:rr:5:3"),
    (bt.Review(bt.Review.SET_CATEGORY, 5, 11), "rv:cc:5:11"),
    (bt.Feasibility(bt.Feasibility.FEASIBLE, 9, "u"), "fz:y:9:u"),
    (bt.Feasibility(bt.Feasibility.NOT_FEASIBLE, 9, "f"), "fz:n:9:f"),
    (bt.Feasibility(bt.Feasibility.COST, 9), "fz:c:9"),
    (bt.Feasibility(bt.Feasibility.SKIP, 9), "fz:s:9"),
    (bt.AuditPage(15), "au:15"),
    (bt.MoveBoundary(3), "cal:mv:3"),
    (bt.AmbassadorHood("tajrish"), "an:tajrish"),
    (bt.AmbassadorHood(None), "an:-"),
    *((bt.Panel(action), f"ap:{action}") for action in ("links", "card", "poster", "stats", "new")),
    *((bt.AmbassadorStaff(action, 42), f"amb:{action}:42") for action in "arsuxkv"),
    (bt.AmbassadorStaff(bt.AmbassadorStaff.PAGE, 3), "amb:p:3"),
    (bt.Results(bt.Results.VIEW, 8, 26), "rs:v:8:26"),
    (bt.Results(bt.Results.PUBLISH, 8), "rs:p:8"),
    (bt.Results(bt.Results.COMPUTE), "rs:c"),
    (bt.Results(bt.Results.HOOD, index=0), "rs:h:0"),
    *((bt.Broadcast(action, 14), f"bc:{action}:14") for action in ("n", "d", "go", "at", "back", "x")),
    (bt.Broadcast("a", 14, "e"), "bc:a:14:e"),
    (bt.Broadcast("t", 14, "26"), "bc:t:14:26"),
    (bt.Broadcast("p", 14, "b"), "bc:p:14:b"),
    (bt.Similar(31), "sm:s:31"),
    (bt.Similar(None), "sm:c"),
    (bt.DuplicateOf(5, 31), "dup:5:31"),
]


@pytest.mark.parametrize(("data", "sent"), SENT, ids=[sent for _, sent in SENT])
def test_each_family_packs_what_was_always_sent_and_reads_it_back(data, sent):
    assert data.pack() == sent
    assert type(data).parse(sent) == data
    assert type(data).PATTERN.match(sent)
    # No other family claims it: one press, one handler.
    assert [f.__name__ for f in bt.FAMILIES if f.parse(sent) is not None] == [type(data).__name__]


def test_every_family_is_covered_and_its_data_is_short_ascii():
    assert {type(data) for data, _ in SENT} == set(bt.FAMILIES)
    # Telegram and Bale take at most 64 bytes; the longest ids a family admits still fit.
    longest = [bt.Review(bt.Review.SET_CATEGORY, 10**12 - 1, 99), bt.Vote(10**12 - 1, 10**6 - 1, True),
               bt.Broadcast("back", 10**12 - 1, "abc"), bt.Neighbourhood("a" * 32), bt.AmbassadorHood("a" * 32)]
    for data in longest:
        packed = data.pack()
        assert packed.isascii() and len(packed.encode()) <= 64 and type(data).parse(packed) == data


@pytest.mark.parametrize("forged", [
    None, "", "n:", "n:Tajrish", "n:tajrish\n", "n:" + "a" * 33, "c:../x", "pv:maybe", "pe:", "v:1", "v:1:2:3",
    "w:-1:0", "x:1:0", "p:", "p:1234567", "m:a:", "m:z:1", "m:a:1234567890123", "rv:rr:5", "rv:a:5:1", "rv:cc:5:123",
    "fz:y:9", "fz:c:9:u", "fz:y:9:x", "au:x", "cal:mv:10", "an:", "an:--", "ap:all", "amb:p:12345", "amb:z:1",
    "amb:v:", "rs:v:8", "rs:c:1", "rs:h:100", "bc:zz:1", "bc:a:1:ABC", "bc:a:1:e:f", "٧:1:0", "v:١:0",
])
def test_malformed_or_unknown_data_is_nobodys(forged):
    assert [f.__name__ for f in bt.FAMILIES if f.parse(forged) is not None] == []
    # Registration matches as PTB does (re.match): no handler is offered what its family refuses.
    assert [f.__name__ for f in bt.FAMILIES if isinstance(forged, str) and f.PATTERN.match(forged)] == []


def test_a_step_that_takes_one_button_of_a_family():
    cancel = bt.exactly(bt.Preview(bt.Preview.CANCEL))
    assert cancel.match("pv:cancel") and not cancel.match("pv:ok") and not cancel.match("pv:cancelled")


def _callback_data(markup) -> list[str | None]:
    """A keyboard's data, whether PTB's object or the Bot API's JSON (keyboards.ballot)."""
    if isinstance(markup, dict):
        return [button.get("callback_data") for row in markup["inline_keyboard"] for button in row]
    return [button.callback_data for row in markup.inline_keyboard for button in row]


def test_every_keyboard_carries_data_one_family_reads_back(config):
    """The keyboards pack with the codecs: every button of every keyboard is read by exactly one
    family, into what packs back to the same data."""
    from types import SimpleNamespace

    from bot.campaign.services.voting import BallotView
    from bot.messenger import keyboards
    from bot.messenger.keyboards import ambassadors as ambassador_keyboards
    from bot.messenger.keyboards import broadcasts as broadcast_keyboards
    from domain import AMB_APPROVED, AMB_SUSPENDED

    hoods = config.neighbourhoods
    ballot = BallotView(page=1, pages=3, proposals=[SimpleNamespace(id=12), SimpleNamespace(id=13)],
                        vote_counts=None, my_votes={13}, used=1, limit=3)
    markups = [
        keyboards.neighbourhoods(hoods), keyboards.categories(config.categories), keyboards.preview(),
        keyboards.edit_fields(), keyboards.ballot(ballot), keyboards.moderation(7),
        ambassador_keyboards.neighbourhoods(hoods), ambassador_keyboards.panel(), ambassador_keyboards.application(42),
        ambassador_keyboards.manage(42, AMB_APPROVED), ambassador_keyboards.manage(42, AMB_SUSPENDED),
        ambassador_keyboards.standings([(42, "مریم")], 1, 3),
        broadcast_keyboards.audience_menu(14, dict.fromkeys(broadcast_keyboards.AUDIENCE_CODES.values(), 0), None,
                                          ["telegram", "bale"], True),
        broadcast_keyboards.neighbourhood_picker(14, hoods, set(), {}), broadcast_keyboards.confirm(14),
        broadcast_keyboards.stop_sending(14), broadcast_keyboards.cancel_list([14, 15]),
    ]
    sent = [data for markup in markups for data in _callback_data(markup) if data is not None]
    for data in sent:
        (family,) = [f for f in bt.FAMILIES if f.parse(data) is not None]
        assert family.parse(data).pack() == data
    assert {"n:tajrish", "c:sport", "pv:cancel", "pe:back", "v:12:1", "w:13:1", "p:0", "p:2", "m:r:7", "an:-",
            "ap:new", "amb:k:42", "amb:u:42", "amb:p:0", "amb:p:2", f"bc:t:14:{len(hoods) - 1}", "bc:p:14:a",
            "bc:a:14:v", "bc:back:14", "bc:x:15"} <= set(sent)


async def test_the_presses_tried_before_the_citizens_conversation_are_none_it_reads(bot):
    """handlers/__init__.py tries the citizen's most frequent presses (votes) before the
    conversation and the staff's buttons: that changes nothing only while no handler tried later
    in the group reads the same data."""
    from telegram.ext import CallbackQueryHandler, ConversationHandler

    group = bot.telegram.app.handlers[0]
    at = next(i for i, h in enumerate(group) if isinstance(h, ConversationHandler))
    conversation = group[at]
    later = [*group[at + 1:], *conversation.entry_points, *conversation.fallbacks,
             *(h for hs in conversation.states.values() for h in hs)]
    staff = [h for h in group[:at] if isinstance(h, CallbackQueryHandler)]
    ahead = staff[:2]
    assert [h.callback.__name__ for h in ahead] == ["on_vote_pressed", "on_page_pressed"]
    samples = ["v:12:0", "w:13:1", "p:0", "p:2", "n:tajrish", "c:sport", "pv:cancel", "pv:ok", "pe:back",
               "m:r:7", "an:-", "ap:new", "amb:k:42", "amb:p:0", "bc:p:14:a", "bc:x:15", "unknown"]
    for data in samples:
        takers = [h for h in ahead if h.pattern is not None and h.pattern.match(data)]
        if takers:
            others = [h for h in [*staff[2:], *later]
                      if isinstance(h, CallbackQueryHandler) and (h.pattern is None or h.pattern.match(data))]
            # Only the catch-all for unknown data (pattern None) comes after, and it is last.
            assert all(h.pattern is None for h in others), (data, others)
    assert any(h.pattern.match("v:12:0") for h in ahead) and any(h.pattern.match("p:2") for h in ahead)
