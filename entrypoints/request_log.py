"""aiohttp's own reports of malformed requests, one line each.

Before a request reaches a route, aiohttp's parser may refuse it (an oversized header line, a bad method, a
body whose Content-Encoding does not decode) and answers 400 itself, logging the parser's traceback on the
``aiohttp.server`` logger, at ERROR for some. Anyone on the internet can send such a request, so it is no
error of the bot's: :class:`OneLineMalformedRequests` turns each such record into one WARNING line naming
the exception. Every other record of that logger (a bug in a route, say) keeps its traceback.
"""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

SERVER_LOGGER = "aiohttp.server"
_MALFORMED = (HttpProcessingError, web.RequestPayloadError)


class OneLineMalformedRequests(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, _MALFORMED):
            detail = " ".join(str(error).split())[:200]
            record.msg, record.args = "%s: %s: %s", (record.getMessage(), type(error).__name__, detail)
            record.exc_info, record.exc_text, record.stack_info = None, None, None
            if record.levelno > logging.WARNING:
                record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
        return True


_filter = OneLineMalformedRequests()


def quiet_malformed_requests() -> None:
    """Install the filter on aiohttp's server logger (idempotent)."""
    logging.getLogger(SERVER_LOGGER).addFilter(_filter)
