"""uvicorn's HTTP/1.1 protocol (httptools) with the bounds it lacks.

httptools buffers a header until its end, by concatenation, so a 30 MB `Authorization` costs
seconds of CPU before anything can refuse it, and uvicorn waits forever for a request that
arrives a byte at a time. This protocol counts the bytes of each request's head as they arrive
and refuses it once past `MAX_HEAD_BYTES` (431; 414 for a request line past
`MAX_REQUEST_LINE_BYTES`; 431 past `MAX_HEADERS` fields), and answers 408 to a head not
complete within `header_timeout` of its first byte (or of the connection) and to a body not
complete within `body_timeout` of its head. Every refusal is the JSON of `server.edge.refusals`
and closes the connection.

`serve` gives uvicorn `bounded_protocol(...)` as its `http` protocol.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from server.edge.refusals import raw_refusal

__all__ = [
    "MAX_HEADERS",
    "MAX_HEAD_BYTES",
    "MAX_REQUEST_LINE_BYTES",
    "BoundedHttpToolsProtocol",
    "bounded_protocol",
]

logger = logging.getLogger("server.edge")

MAX_REQUEST_LINE_BYTES = 8 * 1024
MAX_HEAD_BYTES = 32 * 1024
MAX_HEADERS = 100
# How long a refused connection is drained before it is closed.
LINGER_SECONDS = 2.0


class Refused(Exception):
    """Raised in a parser callback: the request gets `status` and the connection closes."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    header_timeout = 10.0
    body_timeout = 30.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._reading_head = True
        self._head_bytes = 0
        self._header_count = 0
        self._deadline: asyncio.TimerHandle | None = None
        self._refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.header_timeout, self._head_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # drained: the answer is sent
        self._unset_keepalive_if_required()
        if self._reading_head:
            self._head_bytes += len(data)
            if self._deadline is None:
                self._arm(self.header_timeout, self._head_timed_out)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError as error:
            refused = error.__context__
            if isinstance(refused, Refused):
                self._refuse(refused.status, refused.message)
            else:
                self._refuse(400, "the request is not valid HTTP/1.1")
            return
        if self._reading_head and self._head_bytes > MAX_HEAD_BYTES:
            # Refused as the bytes come, before httptools has buffered a huge header.
            self._refuse(431, f"the request's headers are larger than {MAX_HEAD_BYTES} bytes")

    def handle_websocket_upgrade(self) -> None:
        self._disarm()
        super().handle_websocket_upgrade()

    # Parser callbacks
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_count = 0

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > MAX_REQUEST_LINE_BYTES:
            raise Refused(414, f"the request's URL is longer than {MAX_REQUEST_LINE_BYTES} bytes")

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        if self._header_count > MAX_HEADERS:
            raise Refused(431, f"the request has more than {MAX_HEADERS} header fields")
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        head = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
        if head > MAX_HEAD_BYTES:
            raise Refused(431, f"the request's headers are larger than {MAX_HEAD_BYTES} bytes")
        self._reading_head = False
        self._arm(self.body_timeout, self._body_timed_out)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        self._reading_head = True
        self._head_bytes = 0
        super().on_message_complete()

    # Deadlines
    def _arm(self, seconds: float, handler: Any) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, handler)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _head_timed_out(self) -> None:
        self._deadline = None
        if self.cycle is not None and not self.cycle.response_complete:
            # The next pipelined request lags while this one is answered: close after it.
            self.cycle.keep_alive = False
            return
        self._refuse(408, f"the request's headers took longer than {self.header_timeout:g} s")

    def _body_timed_out(self) -> None:
        self._deadline = None
        cycle = self.cycle
        if cycle.response_started:
            # Answered without the whole body (a 413, say): end the connection after that.
            cycle.keep_alive = False
            if cycle.response_complete:
                self.transport.close()
            return
        # The app waits for the rest of the body: it reads a disconnect, and whatever it
        # sends is dropped, while the client gets the 408.
        cycle.disconnected = True
        cycle.message_event.set()
        self._refuse(408, f"the request's body took longer than {self.body_timeout:g} s")

    def _refuse(self, status: int, message: str) -> None:
        """Answer, then stop sending but drain what the client still sends for a moment
        before closing: closing with unread data would reset the connection, and the client
        might lose the answer."""
        self._disarm()
        self._refused = True
        logger.info("refused a request from %s: %d %s", _peer(self.client), status, message)
        if self.transport.is_closing():
            return
        self.transport.write(raw_refusal(status, message))
        self.flow.resume_reading()
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self._deadline = self.loop.call_later(LINGER_SECONDS, self.transport.close)
        else:
            self.transport.close()


def _peer(client: tuple[str, int] | None) -> str:
    return f"{client[0]}:{client[1]}" if client else "unknown"


def bounded_protocol(
    *, header_timeout: float, body_timeout: float
) -> type[BoundedHttpToolsProtocol]:
    """The protocol class with these deadlines, for uvicorn's `http` option."""
    return type(
        "BoundedHttpToolsProtocol",
        (BoundedHttpToolsProtocol,),
        {"header_timeout": header_timeout, "body_timeout": body_timeout},
    )
