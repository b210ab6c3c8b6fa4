"""The public results pages in a real browser: headless Chromium (Debian's `chromium`, which .ci/run
installs when missing) loads them from a loopback HTTP server, as a phone would (390×844).

Checked on the DOM Chromium parsed: the page is right to left, every figure a person reads is in
Persian digits (proposal titles are the citizens' own text, and the commands to copy are Latin), and
every link, picture and the font answer 200 from the server. The screenshots are taken at phone
width; Chromium must have fetched the page's font and pictures to draw them.
"""
from __future__ import annotations

import asyncio
import dataclasses
import re
import subprocess
import tempfile
import threading
from functools import partial
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urljoin, urlsplit
from urllib.request import urlopen

import pytest
from PIL import Image

from bot.campaign.config import Site
from tests.conftest import make_config
from tests.support.programs import required_program
from tests.test_site import URL, voted_and_published

pytestmark = pytest.mark.slow
PHONE = (390, 844)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
         "--hide-scrollbars"]
ASCII_DIGIT = re.compile(r"[0-9]")


def chromium() -> str:
    return required_program(("chromium", "chromium-browser"), "chromium")


@pytest.fixture
def config(tmp_path: Path):
    return dataclasses.replace(make_config(tmp_path), site=Site(URL, tmp_path / "site"))


class Served:
    """The folder on 127.0.0.1, each request's path and status recorded."""

    def __init__(self, folder: Path) -> None:
        self.requests: list[tuple[str, int]] = []
        served = self

        class Handler(SimpleHTTPRequestHandler):
            def log_request(self, code="-", size="-"):
                served.requests.append((urlsplit(self.path).path, int(code)))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(folder)))
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Served:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


class Page(HTMLParser):
    """What a reader sees of a page, and where its links go."""

    SKIPPED = {"style", "script", "pre", "code", "title"}

    def __init__(self) -> None:
        super().__init__()
        self.dir = None
        self.links: list[str] = []
        self.text: list[str] = []
        self.titles: list[str] = []
        self.styles: list[str] = []
        self._open: list[tuple[str, bool]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.dir = attrs.get("dir")
        for key in ("href", "src"):
            if attrs.get(key):
                self.links.append(attrs[key])
        if tag not in ("meta", "link", "img", "br", "source", "input"):
            self._open.append((tag, "title" in (attrs.get("class") or "").split()))

    def handle_endtag(self, tag):
        while self._open:
            if self._open.pop()[0] == tag:
                break

    def handle_data(self, data):
        tags = [t for t, _ in self._open]
        if "style" in tags:
            self.styles.append(data)
        elif any(t for _, t in self._open):
            self.titles.append(data)
        elif not self.SKIPPED & set(tags):
            self.text.append(data)


def run_chromium(*args: str) -> str:
    with tempfile.TemporaryDirectory() as profile:  # a fresh profile each time: nothing carried over
        done = subprocess.run([chromium(), *FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


async def test_pages_in_chromium_at_phone_width(bot, tmp_path):
    chromium()
    folder = await voted_and_published(bot)
    pages = ["index.html", "neighbourhoods/tajrish.html", "neighbourhoods/darband.html"]
    with Served(folder) as served:
        for name in pages:
            url = served.base + name
            page = Page()
            page.feed(await asyncio.to_thread(run_chromium, "--dump-dom", url))
            assert page.dir == "rtl", name
            text = " ".join(" ".join(page.text).split())
            assert re.search("[۰-۹]", text), name
            assert not ASCII_DIGIT.search(text), f"{name}: Latin digits in {ASCII_DIGIT.findall(text)} of {text!r}"
            fonts = re.findall(r'url\("([^"]+)"\)', " ".join(page.styles))
            assert fonts, name
            for link in page.links + fonts:
                target = urljoin(url, link)
                assert target.startswith(served.base), f"{name} links outside the folder: {link}"
                with urlopen(target, timeout=10) as answer:  # raises on 404
                    assert answer.status == 200 and answer.read(1), f"{name}: {link}"
            if name != "index.html":
                assert "pabutools" in text and any(link.endswith(".pb") for link in page.links)

        served.requests.clear()
        for name in pages[:2]:
            shot = tmp_path / (Path(name).stem + ".png")
            await asyncio.to_thread(run_chromium, f"--window-size={PHONE[0]},{PHONE[1]}", f"--screenshot={shot}",
                                    served.base + name)
            with Image.open(shot) as image:
                assert image.size == PHONE
                # The header's green band across the top, right to left: the page was laid out and drawn.
                assert image.convert("RGB").getpixel((PHONE[0] - 5, 5)) == (11, 96, 72)
        fetched = {path for path, status in served.requests if status == 200}
        assert {"/fonts/NotoSansArabic.ttf", "/charts/neighbourhoods.png"} <= fetched
