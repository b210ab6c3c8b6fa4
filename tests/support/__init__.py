"""In-process harness: drive the real PTB Application without network.

    request = RecordingRequest()
    application = application_builder(request).build()
    updates = UpdateFactory(application.bot)
    async with application:            # initialize(): getMe via `request`
        await application.process_update(updates.text(1, "/start"))
    request.texts(1)                   # what user 1 sees now
"""

from telegram.ext import ApplicationBuilder

from tests.support.recording_request import BOT_USER, Call, RecordingRequest
from tests.support.updates import UpdateFactory

__all__ = [
    "BOT_USER",
    "Call",
    "RecordingRequest",
    "UpdateFactory",
    "application_builder",
    "collect_errors",
]


def application_builder(request: RecordingRequest, token: str = "1:x") -> ApplicationBuilder:
    """ApplicationBuilder wired to ``request`` with no Updater (tests feed
    updates themselves) and a second RecordingRequest for getUpdates so no
    httpx client is ever created.  Add handlers/persistence/processor on top."""
    return (
        ApplicationBuilder()
        .token(token)
        .request(request)
        .get_updates_request(RecordingRequest())
        .updater(None)
    )


def collect_errors(application) -> list[BaseException]:
    """Register an error handler that records handler exceptions.

    Application.process_update swallows handler exceptions (it only logs them
    when no error handler exists), so without this a crashing handler would
    not fail the test.  Assert the returned list is empty at the end."""
    errors: list[BaseException] = []

    async def _record(update: object, context) -> None:
        errors.append(context.error)

    application.add_error_handler(_record)
    return errors
