"""In-process notices that a deployment moved, so its watchers on this instance wake at once.

Watchers also poll DynamoDB, so changes made by other instances are seen too; a notice only
cuts the wait short.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable

__all__ = ["DeploymentNotices"]


class DeploymentNotices:
    """Who waits on which deployment, keyed `(user_id, deployment_id)`; `notify` wakes them."""

    def __init__(self) -> None:
        self._waiters: dict[Hashable, set[asyncio.Future[None]]] = {}

    def notify(self, key: Hashable) -> None:
        for waiter in self._waiters.pop(key, set()):
            if not waiter.done():
                waiter.set_result(None)

    async def wait(self, key: Hashable, *, seconds: float) -> bool:
        """Wait for a notice about `key`, at most `seconds`; True if one came."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(key, set()).add(waiter)
        try:
            await asyncio.wait_for(waiter, seconds)
        except TimeoutError:
            return False
        finally:
            waiters = self._waiters.get(key)
            if waiters is not None:
                waiters.discard(waiter)
                if not waiters:
                    del self._waiters[key]
        return True
