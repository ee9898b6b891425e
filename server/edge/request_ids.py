"""The outermost layer: every request gets its id (`server/request_id.py`), echoed in the
`X-Request-Id` response header (of a WebSocket's upgrade too), and leaves one log line.

A GraphQL operation logs its own line (`server/schema/observe.py`); any other request
(a refusal, a 404, the GraphiQL page) gets an access line here (logger `server.access`):
method, path without its query string (a GET's query string may carry variables), status and
duration. Probes (`/healthz`, `/readyz`) log at DEBUG. uvicorn's own access log is off, since
it writes query strings whole.
"""

from __future__ import annotations

import logging
import time

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.request_id import REQUEST_ID_HEADER, request_id_from, serving

__all__ = ["PROBES", "RequestIds"]

logger = logging.getLogger("server.access")

PROBES = frozenset({"/healthz", "/readyz"})
MAX_LOGGED_PATH = 200


class RequestIds:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(Headers(scope=scope).get(REQUEST_ID_HEADER))
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append(REQUEST_ID_HEADER, request_id)
            elif message["type"] == "websocket.accept":
                headers = list(message.get("headers") or [])
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        with serving(request_id) as request:
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                if scope["type"] == "http" and not request.operations_logged:
                    _access_line(scope, status, time.perf_counter() - started)


def _access_line(scope: Scope, status: int, seconds: float) -> None:
    path: str = scope["path"]
    level = logging.DEBUG if path in PROBES else logging.INFO
    logger.log(
        level,
        "%s %s %d in %.1f ms",
        scope["method"],
        path[:MAX_LOGGED_PATH],
        status,
        1000 * seconds,
        extra={
            "fields": {
                "method": scope["method"],
                "path": path[:MAX_LOGGED_PATH],
                "status": status,
                "duration_ms": round(1000 * seconds, 3),
            }
        },
    )
