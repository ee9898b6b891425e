"""The outermost guard: no request ends in uvicorn's plain-text 500 or its full traceback.

A client that went away mid-body ends its request quietly (its answer has nowhere to go);
anything unexpected is logged once, bounded, and answered with a JSON 500.
"""

from __future__ import annotations

import logging
from contextlib import suppress

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.edge.refusals import refusal
from server.logs import brief_traceback

__all__ = ["ContainFailures"]

logger = logging.getLogger("server.edge")


class ContainFailures:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] in ("http.response.start", "websocket.accept")
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except ClientDisconnect:
            logger.debug("client left before its request was read: %s", scope["path"][:200])
        except Exception as error:
            logger.error(
                "unexpected error on %s %s\n%s",
                scope.get("method", "WEBSOCKET"),
                scope["path"][:200],
                brief_traceback(error),
            )
            if scope["type"] == "http" and not started:
                await refusal(500, "Internal server error")(scope, receive, send)
            elif scope["type"] == "websocket":
                with suppress(Exception):
                    await send({"type": "websocket.close", "code": 1011})
