"""The operator's faults in config.toml: each stops the bot with one line that names the key."""
from __future__ import annotations

import copy
import datetime as dt
import re
import tomllib
from pathlib import Path

import jdatetime
import pytest

from bot.__main__ import main
from bot.campaign.config import EXAMPLE_SECRET, ConfigError, load_config, parse_config

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config.example.toml"
EXAMPLE_TEXT = EXAMPLE.read_text(encoding="utf-8")
UTC = dt.timezone.utc


@pytest.fixture
def root() -> dict:
    """A fresh, mutable copy of the example config as TOML data."""
    return copy.deepcopy(tomllib.loads(EXAMPLE_TEXT))


def fault(root: dict) -> str:
    """The one line the operator would see; fails the test if the config is accepted."""
    with pytest.raises(ConfigError) as info:
        parse_config(root)
    message = str(info.value)
    assert "\n" not in message, message
    return message


# --- the example ---------------------------------------------------------------------------------


def test_example_file_loads():
    config = load_config(EXAMPLE)
    assert len(config.neighbourhoods) == 27
    assert len(config.categories) == 7
    assert config.neighbourhoods[0].id == "araj" and config.neighbourhoods[0].name == "اراج"
    assert config.neighbourhood("golabdareh").name == "گلاب‌دره"
    assert config.category("green").name == "فضای سبز و محیط زیست"
    assert config.timezone.key == "Asia/Tehran"
    assert config.phone_hash_secret == EXAMPLE_SECRET.encode()
    assert config.enabled_platforms == []
    # A relative database path is relative to the config file's folder.
    assert config.database == ROOT / "data" / "manshahrdaram.sqlite3"
    assert config.limits.votes_per_citizen == 3 and config.limits.show_vote_counts is False


def test_example_calendar_in_order_and_in_utc():
    c = load_config(EXAMPLE).calendar
    assert c.proposals_opens < c.proposals_closes < c.voting_opens < c.voting_closes
    # 5 Azar 1405, 09:00 in Tehran (UTC+03:30, no daylight saving since 2022).
    assert c.proposals_opens == dt.datetime(2026, 11, 26, 5, 30, tzinfo=UTC)
    # "1405/09/26 00:00" is midnight starting 26 Azar = 17 Dec 2026 in Tehran.
    assert c.proposals_closes == dt.datetime(2026, 12, 16, 20, 30, tzinfo=UTC)
    assert c.voting_opens == dt.datetime(2026, 12, 31, 5, 30, tzinfo=UTC)
    assert c.voting_closes == dt.datetime(2027, 1, 10, 17, 30, tzinfo=UTC)
    assert all(m.tzinfo is UTC for m in (c.proposals_opens, c.proposals_closes, c.voting_opens, c.voting_closes))


def test_example_parses_the_same_from_dict(root):
    assert parse_config(root, source=EXAMPLE) == load_config(EXAMPLE)


def test_24_00_means_end_of_that_day(root):
    root["campaign"]["voting_closes"] = "1405/10/20 24:00"
    assert parse_config(root).calendar.voting_closes == dt.datetime(2027, 1, 10, 20, 30, tzinfo=UTC)


def test_persian_digits_in_a_date_are_accepted(root):
    root["campaign"]["proposals_opens"] = "۱۴۰۵/۰۹/۰۵ ۰۹:۰۰"
    assert parse_config(root).calendar.proposals_opens == dt.datetime(2026, 11, 26, 5, 30, tzinfo=UTC)


# --- dates ---------------------------------------------------------------------------------------


def test_month_13_is_not_a_jalali_date(root):
    root["campaign"]["voting_opens"] = "1405/13/01 09:00"
    message = fault(root)
    assert message.startswith('campaign.voting_opens: "1405/13/01 09:00" is not a Jalali date')
    assert message == 'campaign.voting_opens: "1405/13/01 09:00" is not a Jalali date'


def test_esfand_30_in_a_common_year(root):
    assert not jdatetime.date(1405, 1, 1).isleap()  # so Esfand 1405 has 29 days
    root["campaign"]["voting_closes"] = "1405/12/30 21:00"
    assert fault(root) == 'campaign.voting_closes: "1405/12/30 21:00" is not a Jalali date'


def test_mehr_31_does_not_exist(root):
    # Months 7–11 have 30 days.
    root["campaign"]["proposals_opens"] = "1405/07/31 09:00"
    assert fault(root) == 'campaign.proposals_opens: "1405/07/31 09:00" is not a Jalali date'


@pytest.mark.parametrize("value", ["1405-09-05 09:00", "1405/09/05", "05/09/1405 09:00", "1405/09/05 9", "", "فردا"])
def test_wrong_date_format(root, value):
    root["campaign"]["proposals_opens"] = value
    assert fault(root) == (
        f'campaign.proposals_opens: "{value}" is not a Jalali date and time like "1405/09/05 09:00"'
    )


def test_date_that_is_not_a_string(root):
    root["campaign"]["proposals_opens"] = 14050905
    assert fault(root) == "campaign.proposals_opens: must be a string, not 14050905"


@pytest.mark.parametrize("value", ["1405/09/05 25:00", "1405/09/05 24:30", "1405/09/05 09:60"])
def test_no_such_hour(root, value):
    root["campaign"]["proposals_opens"] = value
    assert fault(root) == f'campaign.proposals_opens: "{value}" has no such hour'


def test_missing_phase(root):
    del root["campaign"]["voting_closes"]
    assert fault(root) == "campaign.voting_closes: is missing"


# --- unknown keys --------------------------------------------------------------------------------


def test_unknown_top_level_key(root):
    root["limit"] = {"votes_per_citizen": 3}
    assert fault(root) == "limit: is not a known setting (check the spelling)"


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("max_megabytes", 21, "voice.max_megabytes: may be at most 20 (Telegram's bots download no bigger file), not 21"),
    ("max_megabytes", 0, "voice.max_megabytes: must be a positive whole number, not 0"),
    ("max_seconds", 3601, "voice.max_seconds: may be at most 3600 (an hour), not 3601"),
    ("max_seconds", "5m", "voice.max_seconds: must be a whole number, not \"5m\""),
    ("transcribe_url", "ftp://stt.local", "voice.transcribe_url: \"ftp://stt.local\" is not an http(s) URL"),
    ("transcribe_timeout_seconds", 301, "voice.transcribe_timeout_seconds: may be at most 300, not 301"),
    ("transcribe", "http://x", "voice.transcribe: is not a known setting (check the spelling)"),
])
def test_voice_limits_name_the_key(root, key, value, expected):
    root["voice"][key] = value
    assert fault(root) == expected


def test_voice_defaults_transcription_off(root):
    del root["voice"]
    voice = parse_config(root).voice
    assert (voice.max_seconds, voice.max_megabytes, voice.transcribe_url) == (300, 5, "")
    assert voice.max_bytes == 5 * 1024 * 1024


def test_unknown_key_in_limits(root):
    root["limits"]["vote_per_citizen"] = 5
    assert fault(root) == "limits.vote_per_citizen: is not a known setting (check the spelling)"


def test_unknown_key_in_general(root):
    root["general"]["time_zone"] = "Asia/Tehran"
    assert fault(root) == "general.time_zone: is not a known setting (check the spelling)"


def test_unknown_key_in_campaign(root):
    root["campaign"]["review_opens"] = "1405/09/26 00:00"
    assert fault(root) == "campaign.review_opens: is not a known setting (check the spelling)"


def test_unknown_key_in_platform(root):
    root["telegram"]["admin"] = [1]
    assert fault(root) == "telegram.admin: is not a known setting (check the spelling)"


def test_unknown_key_in_a_neighbourhood(root):
    root["neighbourhoods"][3]["area"] = "north"
    assert fault(root) == "neighbourhoods[3].area: is not a known setting (check the spelling)"


def test_table_given_as_a_value(root):
    root["limits"] = 3
    assert fault(root) == "limits: must be a table"


# --- phases --------------------------------------------------------------------------------------


def test_voting_opens_before_proposals_close(root):
    root["campaign"]["voting_opens"] = "1405/09/20 09:00"
    assert fault(root) == (
        "campaign.voting_opens: is before campaign.proposals_closes: the phases overlap"
    )


def test_proposals_close_before_they_open(root):
    root["campaign"]["proposals_closes"] = "1405/09/01 00:00"
    assert fault(root) == (
        "campaign.proposals_closes: is before campaign.proposals_opens: the phases overlap"
    )


def test_voting_closes_before_it_opens(root):
    root["campaign"]["voting_closes"] = "1405/10/09 21:00"
    assert fault(root) == "campaign.voting_closes: is before campaign.voting_opens: the phases overlap"


def test_empty_proposals_phase(root):
    root["campaign"]["proposals_closes"] = root["campaign"]["proposals_opens"]
    assert fault(root) == (
        "campaign.proposals_closes: is the same moment as campaign.proposals_opens: the phase would be empty"
    )


def test_empty_voting_phase(root):
    root["campaign"]["voting_closes"] = root["campaign"]["voting_opens"]
    assert fault(root) == (
        "campaign.voting_closes: is the same moment as campaign.voting_opens: the phase would be empty"
    )


def test_voting_may_open_the_moment_proposals_close(root):
    # No review phase is allowed; only the proposal and voting phases must not be empty.
    root["campaign"]["voting_opens"] = root["campaign"]["proposals_closes"]
    c = parse_config(root).calendar
    assert c.voting_opens == c.proposals_closes == dt.datetime(2026, 12, 16, 20, 30, tzinfo=UTC)


# --- limits --------------------------------------------------------------------------------------


def test_string_where_a_number_is_meant(root):
    root["limits"]["title_length"] = "100"
    assert fault(root) == 'limits.title_length: must be a whole number, not "100"'


def test_bool_where_a_number_is_meant(root):
    root["limits"]["proposals_per_citizen"] = True
    assert fault(root) == "limits.proposals_per_citizen: must be a whole number, not True"


def test_float_where_a_number_is_meant(root):
    root["limits"]["votes_per_citizen"] = 3.0
    assert fault(root) == "limits.votes_per_citizen: must be a whole number, not 3.0"


@pytest.mark.parametrize("value", [0, -1])
def test_limits_must_be_positive(root, value):
    root["limits"]["votes_per_citizen"] = value
    assert fault(root) == f"limits.votes_per_citizen: must be a positive whole number, not {value}"


def test_zero_description_length(root):
    root["limits"]["description_length"] = 0
    assert fault(root) == "limits.description_length: must be a positive whole number, not 0"


def test_number_where_a_bool_is_meant(root):
    root["limits"]["show_vote_counts"] = 0
    assert fault(root) == "limits.show_vote_counts: must be true or false, not 0"


def test_title_too_long_for_one_message(root):
    root["limits"]["title_length"] = 201
    assert fault(root) == "limits.title_length: may be at most 200, not 201"


def test_description_too_long_for_one_message(root):
    root["limits"]["description_length"] = 3001
    assert fault(root) == "limits.description_length: may be at most 3000, not 3001"


# Issue 12, item 9: limits below what the rules accept meant no proposal could ever be sent.
@pytest.mark.parametrize("key, value, least, what", [
    ("title_length", 2, 3, "title"), ("title_length", 1, 3, "title"),
    ("description_length", 9, 10, "description"), ("description_length", 3, 10, "description"),
])
def test_a_limit_below_what_the_rules_accept(root, key, value, least, what):
    root["limits"][key] = value
    assert fault(root) == (f"limits.{key}: must be at least {least} (no shorter {what} is ever accepted), "
                           f"not {value}")


def test_the_least_limits_the_rules_accept_are_accepted(root):
    root["limits"].update(title_length=3, description_length=10)
    limits = parse_config(root).limits
    assert (limits.title_length, limits.description_length) == (3, 10)


def test_a_name_too_long_for_its_buttons_and_cards(root):
    root["neighbourhoods"][4]["name"] = "ت" * 41
    assert fault(root) == ("neighbourhoods[4].name: may be at most 40 characters (UTF-16 units: an emoji "
                           "counts two), not 41")
    root["neighbourhoods"][4]["name"] = "تجریش" + "😀" * 18  # 41 units in 23 characters
    assert fault(root).endswith("not 41")
    root["neighbourhoods"][4]["name"] = "ت" * 40
    root["categories"][1]["name"] = "😀" * 21
    assert fault(root) == ("categories[1].name: may be at most 40 characters (UTF-16 units: an emoji counts two), "
                           "not 42")


def test_more_neighbourhoods_than_one_message_has_buttons_for(root):
    root["neighbourhoods"] = [{"id": f"h{i}", "name": f"محله {i}"} for i in range(99)]
    assert fault(root) == "neighbourhoods: may hold at most 98 entries (one button each, and a message holds 100 buttons), not 99"
    root["neighbourhoods"] = root["neighbourhoods"][:98]
    assert len(parse_config(root).neighbourhoods) == 98


def test_a_reject_reason_is_counted_in_utf16_units(root):
    root["review"]["reject_reasons"] = ["😀" * 101]
    assert fault(root) == "review.reject_reasons[0]: must be a text of 1 to 200 characters"


def test_a_voting_reminder_longer_than_voting_is_never_sent(root):
    c = parse_config(root).calendar
    hours = int((c.voting_closes - c.voting_opens).total_seconds() // 3600)
    root["campaign"]["voting_reminder_hours"] = hours
    assert fault(root) == (f"campaign.voting_reminder_hours: {hours} hours is not shorter than voting "
                           f"({hours} hours): the reminder would never be sent (0 for no reminder)")
    root["campaign"]["voting_reminder_hours"] = hours - 1
    assert parse_config(root).announcements.voting_reminder.total_seconds() == (hours - 1) * 3600


def test_limits_default_when_missing(root):
    del root["limits"]
    limits = parse_config(root).limits
    assert (limits.proposals_per_citizen, limits.title_length, limits.description_length,
            limits.votes_per_citizen, limits.show_vote_counts) == (3, 100, 1000, 3, False)


# --- neighbourhoods and categories ---------------------------------------------------------------


def test_duplicate_neighbourhood_id(root):
    root["neighbourhoods"][1]["id"] = "araj"
    assert fault(root) == 'neighbourhoods[1].id: "araj" is used twice'


def test_duplicate_neighbourhood_name(root):
    root["neighbourhoods"][6]["name"] = "تجریش"
    assert fault(root) == 'neighbourhoods[6].name: "تجریش" is used twice'


def test_duplicate_category_id(root):
    root["categories"][6]["id"] = "civil"
    assert fault(root) == 'categories[6].id: "civil" is used twice'


@pytest.mark.parametrize("bad_id", ["تجریش", "Tajrish", "taj rish", "-tajrish", "", "a" * 33])
def test_bad_neighbourhood_id(root, bad_id):
    root["neighbourhoods"][5]["id"] = bad_id
    assert fault(root) == f'neighbourhoods[5].id: "{bad_id}" must be short lowercase ASCII (a-z, 0-9, - and _)'


def test_neighbourhood_without_name(root):
    del root["neighbourhoods"][2]["name"]
    assert fault(root) == "neighbourhoods[2].name: is missing"


def test_blank_neighbourhood_name(root):
    root["neighbourhoods"][2]["name"] = "   "
    assert fault(root) == "neighbourhoods[2].name: is empty"


def test_no_neighbourhoods(root):
    root["neighbourhoods"] = []
    assert fault(root) == "neighbourhoods: must be a non-empty list of [[neighbourhoods]] tables with id and name"


def test_no_categories(root):
    del root["categories"]
    assert fault(root) == "categories: must be a non-empty list of [[categories]] tables with id and name"


# --- messengers ----------------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["abc", "123456", "123:abc def", "bot123:abc", ":abc"])
def test_bad_token_shape(root, token):
    root["telegram"]["token"] = token
    assert fault(root) == "telegram.token: does not look like a bot token (digits, a colon, then letters)"


def test_good_token_enables_the_platform(root):
    root["bale"]["token"] = " 123456:AbC-d_E "
    config = parse_config(root)
    assert [p.name for p in config.enabled_platforms] == ["bale"]
    assert config.platforms["bale"].token == "123456:AbC-d_E"
    assert config.platforms["bale"].base_url == "https://tapi.bale.ai/bot"


def test_admin_id_as_string(root):
    root["telegram"]["admins"] = [12345, "67890"]
    assert fault(root) == 'telegram.admins[1]: "67890" is not a user id (a positive number; /whoami shows it)'


def test_negative_admin_id(root):
    root["bale"]["admins"] = [-5]
    assert fault(root) == "bale.admins[0]: -5 is not a user id (a positive number; /whoami shows it)"


def test_admin_id_true(root):
    root["bale"]["admins"] = [True]
    assert fault(root) == "bale.admins[0]: True is not a user id (a positive number; /whoami shows it)"


def test_admins_not_a_list(root):
    root["telegram"]["admins"] = 12345
    assert fault(root) == "telegram.admins: must be a list, not 12345"


def test_base_url_not_http(root):
    root["telegram"]["base_url"] = "api.telegram.org/bot"
    assert fault(root) == 'telegram.base_url: "api.telegram.org/bot" is not an http(s) URL'


# --- general -------------------------------------------------------------------------------------


@pytest.mark.parametrize("tz", ["Tehran", "Asia/Teheran", "asia/tehran", "../etc", "/etc/localtime", ""])
def test_bad_timezone(root, tz):
    root["general"]["timezone"] = tz
    assert fault(root) == f'general.timezone: "{tz}" is not a known time zone'


# Regression: a region name without a city, e.g. "Asia", is a folder of the tz database and
# ZoneInfo raises IsADirectoryError (an OSError) for it; that used to escape as a traceback.
def test_bad_timezone_that_is_a_tz_folder(root):
    root["general"]["timezone"] = "Asia"
    assert fault(root) == 'general.timezone: "Asia" is not a known time zone'


def test_missing_phone_hash_secret(root):
    del root["general"]["phone_hash_secret"]
    assert fault(root) == "general.phone_hash_secret: is missing"


def test_short_phone_hash_secret(root):
    root["general"]["phone_hash_secret"] = "123456789012345"  # 15 characters
    assert fault(root) == "general.phone_hash_secret: must be at least 16 characters of random text"


def test_secret_of_16_characters_is_enough(root):
    root["general"]["phone_hash_secret"] = "1234567890123456"
    assert parse_config(root).phone_hash_secret == b"1234567890123456"


# --- files ---------------------------------------------------------------------------------------


def test_toml_syntax_error_names_the_file(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(EXAMPLE_TEXT.replace("[limits]", "[limits", 1), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert "\n" not in message
    assert re.fullmatch(re.escape(f"{path}: is not valid TOML: ") + r".+\(at line \d+, column \d+\)", message), message
    assert info.value.key == str(path)


def test_missing_file(tmp_path):
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}: file not found (copy config.example.toml to config.toml)"


def test_relative_database_is_next_to_the_file(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(EXAMPLE_TEXT, encoding="utf-8")
    assert load_config(path).database == tmp_path / "data" / "manshahrdaram.sqlite3"


# --- check-config --------------------------------------------------------------------------------


def test_check_config_accepts_the_example(capsys):
    assert main(["check-config", str(EXAMPLE)]) == 0
    out, err = capsys.readouterr()
    assert out == f"{EXAMPLE}: OK — 27 neighbourhoods, 7 categories, messengers: none (playground only)\n"
    assert "config error" not in err


def test_check_config_reports_one_line_for_a_bad_file(tmp_path, capsys):
    path = tmp_path / "config.toml"
    path.write_text(EXAMPLE_TEXT.replace("votes_per_citizen = 3", "vote_per_citizen = 3"), encoding="utf-8")
    assert main(["check-config", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "config error: limits.vote_per_citizen: is not a known setting (check the spelling)\n"


def test_check_config_refuses_a_title_length_no_title_can_meet(tmp_path, capsys):
    path = tmp_path / "config.toml"
    path.write_text(EXAMPLE_TEXT.replace("title_length = 100", "title_length = 2"), encoding="utf-8")
    assert main(["check-config", str(path)]) == 2
    assert capsys.readouterr().err == (
        "config error: limits.title_length: must be at least 3 (no shorter title is ever accepted), not 2\n")


def test_check_config_for_a_missing_file(tmp_path, capsys):
    path = tmp_path / "config.toml"
    assert main(["check-config", str(path)]) == 2
    assert capsys.readouterr().err == (
        f"config error: {path}: file not found (copy config.example.toml to config.toml)\n"
    )


def test_check_config_refuses_a_real_token_with_the_example_secret(tmp_path, capsys):
    path = tmp_path / "config.toml"
    text = EXAMPLE_TEXT.replace('token = ""', 'token = "123:abc"', 1)
    assert 'token = "123:abc"' in text
    path.write_text(text, encoding="utf-8")
    assert main(["check-config", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "config error: general.phone_hash_secret: is still the example value; "
        "set a long random secret before serving real users\n"
    )


def test_check_config_accepts_a_real_token_with_a_real_secret(tmp_path, capsys):
    path = tmp_path / "config.toml"
    text = EXAMPLE_TEXT.replace('token = ""', 'token = "123:abc"', 1).replace(EXAMPLE_SECRET, "s3cr3t-" * 5)
    path.write_text(text, encoding="utf-8")
    assert main(["check-config", str(path)]) == 0
    assert capsys.readouterr().out == f"{path}: OK — 27 neighbourhoods, 7 categories, messengers: telegram\n"


def test_debug_logging_never_turns_on_ptbs_token_and_update_dumps():
    import logging

    from bot.__main__ import _setup_logging

    _setup_logging("DEBUG")
    try:
        assert logging.getLogger("telegram").getEffectiveLevel() == logging.INFO
        assert logging.getLogger("telegram.ext.Application").getEffectiveLevel() == logging.INFO
        assert logging.getLogger("bot").getEffectiveLevel() == logging.DEBUG
    finally:
        from bot import logs

        logs.teardown()
        logging.getLogger().setLevel(logging.WARNING)
        logging.getLogger("telegram").setLevel(logging.NOTSET)
