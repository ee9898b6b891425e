"""Logging that never holds a secret: an allow-list, and bounded tracebacks.

Only the server's own loggers (`server.*`) may log below INFO: they name ids and error codes,
never values or tokens. Every other logger is held at INFO or above, whatever level the server
runs at: at DEBUG the websockets library logs the upgrade request's headers (`Authorization`)
and whole frames (env var values) through `uvicorn.error`; botocore, aiohttp and urllib3 log
request and response bodies; strawberry, graphql-core and asyncio may log variables.

One request must not be able to fill the log either: an unexpected error is logged with its
innermost frames only and at most a few thousand characters (a RecursionError's traceback has
a thousand frames).

Lines are text (`LEVEL logger: message`) or, with `LOG_FORMAT=json`, one JSON object each:
`time`, `level`, `logger`, `message`, the `request_id` of the request being served, the
fields a line brings (`extra={"fields": {...}}`: an operation's name, duration, ...) and a
bounded `traceback`.
"""

from __future__ import annotations

import json
import logging
import traceback
from datetime import UTC, datetime
from typing import Literal

import orjson

from server.request_id import current_request

__all__ = [
    "ALLOWED_BELOW_INFO",
    "AllowList",
    "JsonLines",
    "LogFormat",
    "brief_traceback",
    "configure_logging",
    "keep_secrets_out_of_logs",
    "use_log_format",
]

ALLOWED_BELOW_INFO = ("server",)
LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"
LogFormat = Literal["text", "json"]
MAX_FRAMES = 12
MAX_TRACEBACK_CHARS = 4000


def is_allowed_below_info(name: str) -> bool:
    return any(name == allowed or name.startswith(f"{allowed}.") for allowed in ALLOWED_BELOW_INFO)


class AllowList(logging.Filter):
    """On a handler: records of other loggers than the allow-listed ones pass from `level` or
    INFO, whichever is higher, whatever level a library set on its own logger."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.floor = max(level, logging.INFO)

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= self.floor or is_allowed_below_info(record.name)


class Text(logging.Formatter):
    """`LEVEL logger: message`, then `[request id]` within a request."""

    def __init__(self) -> None:
        super().__init__(LOG_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request = current_request()
        return line if request is None else f"{line} [{request.id}]"


class JsonLines(logging.Formatter):
    """One JSON object a line (`LOG_FORMAT=json`)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if (request := current_request()) is not None:
            line["request_id"] = request.id
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info and record.exc_info[1] is not None:
            line["traceback"] = brief_traceback(record.exc_info[1])
        try:
            return orjson.dumps(line, default=str).decode()
        except TypeError:  # text orjson refuses (a lone surrogate): `json` escapes it
            return json.dumps(line, default=str, separators=(",", ":"))


def configure_logging(level: int, log_format: LogFormat = "text") -> None:
    """The process's logging, for the command line: the server's loggers at `level`, every
    other one at `level` or INFO, whichever is higher, and the allow-list on the handler."""
    logging.basicConfig(level=max(level, logging.INFO), format=LOG_FORMAT)
    for handler in logging.root.handlers:
        handler.addFilter(AllowList(level))
    for name in ALLOWED_BELOW_INFO:
        logging.getLogger(name).setLevel(level)
    use_log_format(log_format)
    keep_secrets_out_of_logs()


def use_log_format(log_format: LogFormat) -> None:
    """Write the root handlers' lines as text or JSON (the settings decide which, once read)."""
    formatter = JsonLines() if log_format == "json" else Text()
    for handler in logging.root.handlers:
        handler.setFormatter(formatter)


def keep_secrets_out_of_logs() -> None:
    """Hold every logger that exists and is not allowed below INFO at INFO or above, so a root
    logger turned to DEBUG later (a test's log capture) does not reach them either."""
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if (
            isinstance(logger, logging.Logger)
            and not is_allowed_below_info(name)
            and (logger.level == logging.NOTSET or logger.level < logging.INFO)
        ):
            logger.setLevel(logging.INFO)


def brief_traceback(error: BaseException) -> str:
    """An exception's innermost frames and its message, at most `MAX_TRACEBACK_CHARS` long
    (the start and the end of it when longer)."""
    text = "".join(
        traceback.format_exception(type(error), error, error.__traceback__, limit=-MAX_FRAMES)
    ).rstrip()
    if len(text) <= MAX_TRACEBACK_CHARS:
        return text
    half = MAX_TRACEBACK_CHARS // 2
    return f"{text[:half]}\n[... {len(text) - 2 * half} characters left out ...]\n{text[-half:]}"
