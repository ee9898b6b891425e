"""A DynamoDB endpoint in front of another that answers one operation with errors of its own,
as endpoints without that operation (DynamoDB Local) or DynamoDB in a passing state do, and
forwards everything else: the client under test talks HTTP to it as to any endpoint."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

__all__ = ["Interception", "intercepting"]

# Hop-by-hop and framing headers: aiohttp writes its own.
NOT_FORWARDED = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "content-encoding"}
)


@dataclass
class Interception:
    url: str
    calls: int = 0  # of the intercepted operation, answered or forwarded
    answered: list[str] = field(default_factory=list)  # the error codes given, in order


@asynccontextmanager
async def intercepting(
    upstream: str, operation: str, errors: Iterator[str]
) -> AsyncIterator[Interception]:
    """Answer each call of `operation` (e.g. `UpdateContinuousBackups`) with the next error
    code of `errors`, with HTTP 400 as DynamoDB does; once `errors` runs out, forward it too."""
    interception = Interception(url="")

    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        target = request.headers.get("X-Amz-Target", "")
        if target.endswith(f".{operation}"):
            interception.calls += 1
            code = next(errors, None)
            if code is not None:
                interception.answered.append(code)
                return _error(code)
        return await _forward(session, upstream, request, body)

    app = web.Application()
    app.router.add_post("/", handle)
    runner = web.AppRunner(app)
    async with aiohttp.ClientSession() as session:
        await runner.setup()
        try:
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            host, port = runner.addresses[0][:2]
            interception.url = f"http://{host}:{port}"
            yield interception
        finally:
            await runner.cleanup()


def _error(code: str) -> web.Response:
    return web.Response(
        status=400,
        body=json.dumps(
            {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": f"{code} (test)"}
        ),
        content_type="application/x-amz-json-1.0",
    )


async def _forward(
    session: aiohttp.ClientSession, upstream: str, request: web.Request, body: bytes
) -> web.Response:
    headers = {
        name: value for name, value in request.headers.items() if name.lower() not in NOT_FORWARDED
    }
    async with session.post(upstream, data=body, headers=headers) as answer:
        return web.Response(
            status=answer.status,
            body=await answer.read(),
            headers={
                name: value
                for name, value in answer.headers.items()
                if name.lower() not in NOT_FORWARDED
            },
        )
