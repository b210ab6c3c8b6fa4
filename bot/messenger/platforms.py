"""Everything that differs between Telegram and Bale lives here; handlers never branch on it."""
from __future__ import annotations

from dataclasses import dataclass

from bot.campaign.config import BALE, TELEGRAM
from messages_fa.markup import HtmlMarkup, Markup, PlainMarkup
from messages_fa.texts import PLATFORM_NAMES


@dataclass(frozen=True)
class Platform:
    name: str
    markup: Markup
    link_host: str
    # Bale may answer setMyCommands with 404 (which PTB reports as InvalidToken).
    commands_optional: bool

    @property
    def persian_name(self) -> str:
        return PLATFORM_NAMES[self.name]

    def deep_link(self, bot_username: str, payload: str | None = None) -> str:
        link = f"https://{self.link_host}/{bot_username}"
        return f"{link}?start={payload}" if payload else link


PLATFORMS = {
    TELEGRAM: Platform(TELEGRAM, HtmlMarkup(), "t.me", commands_optional=False),
    BALE: Platform(BALE, PlainMarkup(), "ble.ir", commands_optional=True),
}


def map_url(latitude: float, longitude: float) -> str:
    # A plain link opens in any browser or map app on both messengers.
    return f"https://www.openstreetmap.org/?mlat={latitude:.6f}&mlon={longitude:.6f}#map=17/{latitude:.6f}/{longitude:.6f}"
