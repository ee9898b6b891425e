"""`/healthz` (liveness) and `/readyz` (readiness).

`/healthz` says only that the process serves HTTP: it calls no DynamoDB, so it stays 200 while
DynamoDB is down, and an orchestrator does not restart a healthy process for an outage it
cannot fix. `/readyz` says whether the seven tables answer `DescribeTable`, checked at most
once per `READINESS_CACHE_SECONDS` whatever the number of callers; while one is not ready it
answers 503 naming the table's role (`deployments`, not its physical name) and a one-word
reason, so an anonymous caller learns nothing of the account; the details go to the log.
"""

from __future__ import annotations

import asyncio
import time

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server.store import Store

__all__ = ["READINESS_TIMEOUT_SECONDS", "Readiness", "healthz", "readyz"]

READINESS_TIMEOUT_SECONDS = 2.0


class Readiness:
    """The latest readiness check, reused for `ttl_seconds`; one check runs at a time."""

    def __init__(self, store: Store, *, ttl_seconds: float) -> None:
        self.store = store
        self.ttl_seconds = ttl_seconds
        self._problems: dict[str, str] = {}
        self._checked_at: float | None = None
        self._lock = asyncio.Lock()

    async def problems(self) -> dict[str, str]:
        async with self._lock:
            if not self._fresh():
                self._problems = await self.store.unready_tables(
                    within_seconds=READINESS_TIMEOUT_SECONDS
                )
                self._checked_at = time.monotonic()
            return self._problems

    def _fresh(self) -> bool:
        return (
            self._checked_at is not None and time.monotonic() - self._checked_at < self.ttl_seconds
        )


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    readiness: Readiness = request.state.readiness
    problems = await readiness.problems()
    if not problems:
        return JSONResponse({"status": "ready"})
    return JSONResponse({"status": "unready", "tables": problems}, status_code=503)
