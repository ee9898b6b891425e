"""The process-wide cache of the built-in tool catalog."""

from __future__ import annotations

import uuid

from server.builtin_catalog import BuiltinCatalog
from server.models import BuiltinTool
from server.store import Store
from server.store.instrument import track


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def tool(name: str, *, active: bool = True) -> BuiltinTool:
    return BuiltinTool(
        tool_name=name,
        description="cached",
        type="utility",
        input_schema={"type": "object"},
        category="cache-tests",
        is_active=active,
    )


async def test_one_scan_serves_every_read_until_the_ttl_passes(store: Store) -> None:
    clock = Clock()
    catalog = BuiltinCatalog(store.builtin_tools, ttl_seconds=30, clock=clock)
    name = f"cached-{uuid.uuid4().hex[:8]}"

    with track() as first:
        await catalog.all()
    await store.builtin_tools.put(tool(name))
    with track() as cached:
        stale = await catalog.get_many([name])
    clock.now += 31
    with track() as expired:
        fresh = await catalog.get_many([name])

    assert first.requests >= 1
    assert cached.requests == 0
    assert stale == [None]
    assert expired.requests >= 1
    assert fresh[0] is not None
    assert fresh[0].tool_name == name


async def test_invalidate_makes_the_next_read_scan_again(store: Store) -> None:
    catalog = BuiltinCatalog(store.builtin_tools, ttl_seconds=30, clock=Clock())
    name = f"invalidated-{uuid.uuid4().hex[:8]}"
    await catalog.all()
    await store.builtin_tools.put(tool(name, active=False))

    catalog.invalidate()
    (found,) = await catalog.get_many([name])

    assert found is not None
    assert not found.is_active


async def test_a_zero_ttl_never_caches(store: Store) -> None:
    catalog = BuiltinCatalog(store.builtin_tools, ttl_seconds=0, clock=Clock())

    with track() as tally:
        await catalog.all()
        await catalog.all()

    assert tally.requests == 2
