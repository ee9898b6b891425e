"""The HTTP edge: request size limits and security headers."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.edge.refusals import refusal

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_WEBSOCKET_MESSAGE_BYTES",
    "BodyLimit",
    "SecurityHeaders",
]

MAX_BODY_BYTES = 1024 * 1024
# A WebSocket message is bounded like a body; a bigger one closes the socket with 1009.
MAX_WEBSOCKET_MESSAGE_BYTES = MAX_BODY_BYTES


class BodyLimit:
    """Answers 413 to an HTTP request whose body is larger than `max_bytes`, before any
    parsing: at once when Content-Length says so, or as soon as a streamed body passes it."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except BodyTooLarge:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = f"the request body is larger than {self.max_bytes} bytes"
        await refusal(413, message)(scope, receive, send)


class BodyTooLarge(Exception):
    pass


API_CSP = "default-src 'none'; frame-ancestors 'none'"


class SecurityHeaders:
    """Headers every response carries; HTML (the playground) gets `html_csp`, the rest a CSP
    that allows nothing."""

    def __init__(self, app: ASGIApp, *, html_csp: str) -> None:
        self.app = app
        self.html_csp = html_csp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "no-referrer")
                headers.setdefault("X-Frame-Options", "DENY")
                html = headers.get("content-type", "").startswith("text/html")
                headers.setdefault("Content-Security-Policy", self.html_csp if html else API_CSP)
            await send(message)

        await self.app(scope, receive, with_headers)
