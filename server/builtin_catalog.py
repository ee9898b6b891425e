"""The built-in tool catalog, cached process-wide.

Admins change it rarely, and agents on every screen show their built-in tools: one Scan
serves every request for `BUILTIN_CACHE_SECONDS`. This process's admin mutations drop the
cache at once; other instances see changes when their copy expires.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

from server.models import BuiltinTool
from server.store.builtin_tools import BuiltinToolStore

__all__ = ["BuiltinCatalog"]


class BuiltinCatalog:
    def __init__(
        self,
        store: BuiltinToolStore,
        *,
        ttl_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._ttl = ttl_seconds
        self._clock = clock
        self._lock = asyncio.Lock()
        self._tools: list[BuiltinTool] | None = None
        self._by_name: dict[str, BuiltinTool] = {}
        self._expires = 0.0

    async def all(self) -> list[BuiltinTool]:
        """The whole catalog, active or not, sorted by name."""
        if self._tools is not None and self._clock() < self._expires:
            return self._tools
        async with self._lock:  # one Scan for all the requests that find the cache stale
            if self._tools is None or self._clock() >= self._expires:
                tools = await self._store.list_all()
                self._tools, self._by_name = tools, {tool.tool_name: tool for tool in tools}
                self._expires = self._clock() + self._ttl
            return self._tools

    async def get_many(self, names: Sequence[str]) -> list[BuiltinTool | None]:
        await self.all()
        return [self._by_name.get(name) for name in names]

    def invalidate(self) -> None:
        self._tools = None
