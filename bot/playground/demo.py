"""Demo data: sample citizens and their proposals, seeded through the services (``--demo``)."""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from bot import render
from bot.campaign import Phase, phase_at
from bot.clock import ManualClock
from bot.config import BALE, TELEGRAM, Config

from .constants import ADMIN_ID

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoProposal:
    user_id: int
    platform: str
    neighbourhood: str
    category: str
    title: str
    description: str
    reject_reason: str | None = None  # None: approved
    location: tuple[float, float] | None = None


DEMO_PROPOSALS = (
    DemoProposal(
        9001, TELEGRAM, "tajrish", "green", "کاشت درخت چنار در خیابان شهرداری",
        "در پیاده‌روی ضلع شرقی خیابان شهرداری، از میدان تجریش تا پل رومی، درخت‌های خشک‌شده جایگزین "
        "و چنارهای تازه کاشته شود تا تابستان‌ها پیاده‌رو سایه داشته باشد.",
    ),
    DemoProposal(
        9002, TELEGRAM, "tajrish", "urban-services", "سطل‌های تفکیک زباله در بازار تجریش",
        "کنار ورودی‌های بازار تجریش سطل‌های جداگانه برای پسماند خشک و تر گذاشته شود و هر شب تخلیه شود "
        "تا بوی زباله و گربه‌های گرسنه از ورودی بازار دور شوند.",
    ),
    DemoProposal(
        9003, BALE, "tajrish", "transport", "ایستگاه دوچرخهٔ اشتراکی کنار مترو تجریش",
        "یک ایستگاه دوچرخهٔ اشتراکی با ده دوچرخه در میدان قدس، کنار خروجی مترو تجریش، راه‌اندازی شود "
        "تا رفت‌وآمدهای کوتاه محله بدون خودرو انجام شود.",
        location=(35.8046, 51.4336),
    ),
    DemoProposal(
        9004, TELEGRAM, "tajrish", "civil", "پارکینگ طبقاتی ده‌طبقه زیر میدان تجریش",
        "زیر میدان تجریش یک پارکینگ ده‌طبقه برای دو هزار خودرو ساخته شود تا مشکل جای پارک محله برای "
        "همیشه حل شود.",
        reject_reason="هزینهٔ این طرح چند برابر بودجهٔ سالانهٔ محله است؛ طرح‌های به این بزرگی در "
                      "برنامه‌های کلان شهرداری بررسی می‌شوند.",
    ),
    DemoProposal(
        9005, BALE, "darband", "civil", "روشنایی مسیر پیاده‌روی دربند",
        "از میدان دربند تا ابتدای مسیر کوهنوردی چراغ‌های کم‌مصرف نصب شود؛ شب‌ها این مسیر تاریک است "
        "و برای سالمندان و کودکان ناامن.",
    ),
    DemoProposal(
        9006, TELEGRAM, "darband", "urban-services", "سرویس بهداشتی عمومی در ابتدای مسیر کوهنوردی",
        "در ابتدای مسیر کوهنوردی دربند یک سرویس بهداشتی تمیز و دسترس‌پذیر برای افراد دارای معلولیت "
        "ساخته شود و نظافت آن به پیمانکار محله سپرده شود.",
    ),
    DemoProposal(
        9007, TELEGRAM, "niavaran", "culture", "کتابخانهٔ کوچک در پارک نیاوران",
        "در پارک نیاوران یک قفسهٔ کتاب امانی (بردار و بگذار) با سایه‌بان و چند نیمکت ساخته شود تا "
        "خانواده‌ها و کودکان در پارک کتاب بخوانند و کتاب‌هایشان را با هم عوض کنند.",
    ),
    DemoProposal(
        9008, TELEGRAM, "niavaran", "sport", "زمین بازی کودکان با کف‌پوش ایمن",
        "وسایل بازی فرسودهٔ بوستان محله تعویض و کف زمین بازی با کف‌پوش لاستیکی ایمن پوشانده شود؛ "
        "چند کودک امسال روی کف بتنی آسیب دیده‌اند.",
    ),
)


@dataclass
class SeedReport:
    added: int = 0
    present: int = 0
    approved: int = 0
    rejected: int = 0
    neighbourhoods: tuple[str, ...] = ()


async def seed_demo(config: Config, db, now: dt.datetime) -> SeedReport:
    """Demo citizens and their proposals, through the services as a citizen and the admin would.

    Runs on its own clock inside the proposals phase (the services refuse proposals at any other
    time). Citizens that already have a proposal are left alone, so seeding twice adds nothing.
    """
    from bot.services import Services
    from storage import Repositories

    calendar = config.calendar
    inside = phase_at(calendar, now).phase is Phase.PROPOSALS
    clock = ManualClock(now if inside else calendar.proposals_opens + dt.timedelta(hours=2))
    services = Services.build(config, clock, Repositories(db))
    staff_ref = f"{TELEGRAM}:{ADMIN_ID}"
    report = SeedReport()
    hoods: list[str] = []
    for demo in DEMO_PROPOSALS:
        if config.neighbourhood(demo.neighbourhood) is None or config.category(demo.category) is None:
            continue  # a config without this neighbourhood or category
        name = render.neighbourhood_name(config, demo.neighbourhood)
        if name not in hoods:
            hoods.append(name)
        existing = await services.repos.citizens.find(demo.platform, demo.user_id)
        if existing is not None and await services.proposals.mine(existing):
            report.present += 1
            continue
        clock.advance(minutes=7)
        citizen, _ = await services.citizens.enter(demo.platform, demo.user_id, demo.user_id)
        await services.citizens.choose_neighbourhood(citizen, demo.neighbourhood)
        citizen, _ = await services.citizens.enter(demo.platform, demo.user_id, demo.user_id)
        await services.proposals.start(citizen)
        await services.proposals.set_category(citizen, demo.category)
        await services.proposals.set_title(citizen, demo.title)
        await services.proposals.set_description(citizen, demo.description)
        if demo.location:
            await services.proposals.set_location(citizen, *demo.location)
        submitted = await services.proposals.submit(citizen)
        if submitted.proposal is None:
            log.warning("demo proposal %r not submitted: %s", demo.title, submitted.gate.value)
            continue
        clock.advance(minutes=30)
        approve = demo.reject_reason is None
        await services.proposals.decide(True, staff_ref, submitted.proposal.id, approve, demo.reject_reason)
        report.added += 1
        if approve:
            report.approved += 1
        else:
            report.rejected += 1
    report.neighbourhoods = tuple(hoods)
    return report


def demo_phone(user_id: int) -> str:
    """A valid Iranian mobile number of one's own, derived from the user id: +98912000NNNN."""
    return f"+98912{user_id % 10**7:07d}"
