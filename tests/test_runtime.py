"""A started app keeps the garbage collector off the objects it loaded at start."""

from __future__ import annotations

import gc

from starlette.types import ASGIApp

from server.runtime import YOUNG_GENERATION_THRESHOLD


async def test_a_started_app_freezes_what_it_loaded_and_collects_less_often(
    app: ASGIApp,
) -> None:
    assert gc.get_freeze_count() > 10_000  # botocore's models, the schema, the modules
    assert gc.get_threshold()[0] == YOUNG_GENERATION_THRESHOLD
