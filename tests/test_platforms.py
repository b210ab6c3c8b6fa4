"""What differs between Telegram and Bale lives in bot/messenger/platforms.py."""
from bot.messenger.platforms import PLATFORMS


def test_deep_links_per_messenger():
    # The format differs per messenger; issue 4's invite links build on it.
    assert PLATFORMS["telegram"].deep_link("district1_bot", "abc_12") == "https://t.me/district1_bot?start=abc_12"
    assert PLATFORMS["bale"].deep_link("district1_bot", "abc_12") == "https://ble.ir/district1_bot?start=abc_12"
    assert PLATFORMS["bale"].deep_link("district1_bot") == "https://ble.ir/district1_bot"
