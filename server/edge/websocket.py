"""Closing a WebSocket at once, even one whose peer has stopped reading it.

uvicorn's WebSocket protocol makes every ASGI `send`, a `websocket.close` included, wait until
the transport's write buffer drains below its low-water mark; a peer that never reads its
socket never lets it drain, so an ASGI close to it would wait forever. `serve` runs uvicorn's
protocol with one addition, `ClosableWebSocketProtocol`: a connection's scope carries
`close_now` under `extensions`, which never waits. It sends the close frame when the
transport takes writes (and aborts if the peer does not answer it in time), and aborts the
transport at once when it does not, which ends the connection: uvicorn tells the app it
disconnected and wakes every send waiting on it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, cast

from starlette.websockets import WebSocket
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

if TYPE_CHECKING:
    from websockets.http11 import Request

__all__ = ["CLOSE_NOW", "ClosableWebSocketProtocol", "close_now"]

# The scope extension holding a connection's `close_now(code, reason)`.
CLOSE_NOW = "server.websocket.close_now"
# How long a peer that takes writes has to answer the close frame before the transport goes.
CLOSE_ANSWER_SECONDS = 5.0

log = logging.getLogger(__name__)
_closing: set[asyncio.Task[None]] = set()


class ClosableWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol (websockets' sans-I/O one, uvicorn's default), whose
    connections can be closed without waiting (`close_now`)."""

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        if self.response.status_code == 101:
            # The app's task starts after this returns, with this scope.
            extensions = cast(dict[str, object], self.scope["extensions"])
            extensions[CLOSE_NOW] = self.close_now

    def close_now(self, code: int, reason: str) -> None:
        """Close this connection without waiting on the peer; a no-op once closing."""
        if self.close_sent or self.disconnected or self.transport.is_closing():
            return
        if not self.writable.is_set():  # the peer reads nothing: no frame would get out
            self.transport.abort()
            return
        self.queue.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})
        self.conn.send_close(code, reason)
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.close_sent = True
        if self.read_paused:  # to read the peer's answering close frame
            self.read_paused = False
            self.transport.resume_reading()
        self.close_timer = self.loop.call_later(CLOSE_ANSWER_SECONDS, self.transport.abort)


def close_now(websocket: WebSocket, code: int, reason: str) -> None:
    """Close `websocket` without waiting: through its protocol's `close_now` under
    `ClosableWebSocketProtocol`; under another server, by an ASGI close in a task of its own,
    bounded in time."""
    extension = websocket.scope.get("extensions", {}).get(CLOSE_NOW)
    if callable(extension):
        extension(code, reason)
        return
    task = asyncio.get_running_loop().create_task(_close(websocket, code, reason))
    _closing.add(task)
    task.add_done_callback(_closing.discard)


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    try:
        async with asyncio.timeout(CLOSE_ANSWER_SECONDS):
            await websocket.close(code, reason)
    except (TimeoutError, RuntimeError, OSError):  # already closed, or never drained
        log.info("a WebSocket could not be closed (code %d)", code)
