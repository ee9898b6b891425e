"""`/healthz` is liveness and never calls DynamoDB; `/readyz` is readiness: every table answers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from starlette.types import ASGIApp

from server.app import create_app
from server.settings import Settings
from server.store import Store, instrument, open_store
from server.wiring import store_options

ROLES = {"projects", "agents", "tools", "main-config", "environment", "deployments"}


@asynccontextmanager
async def client(settings: Settings, **changes: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update=changes))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://10.0.0.7") as http:
            yield http


async def test_readyz_is_ready_when_every_table_answers(app: ASGIApp) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
        response = await http.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


async def test_readyz_names_missing_tables_by_role_and_healthz_stays_up(
    settings: Settings, store: Store
) -> None:
    prefix = f"absent-{uuid.uuid4().hex[:8]}-"
    async with client(settings, table_prefix=prefix) as http:
        ready = await http.get("/readyz")
        health = await http.get("/healthz")

    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "unready"
    assert set(body["tables"]) == ROLES | {"builtin-tools"}
    assert set(body["tables"].values()) == {"missing"}
    assert prefix not in ready.text  # roles, not the account's table names
    assert health.status_code == 200


async def test_readyz_is_unready_while_dynamodb_is_unreachable(settings: Settings) -> None:
    async with client(
        settings, dynamodb_endpoint_url="http://127.0.0.1:9", dynamodb_max_attempts=1
    ) as http:
        ready = await http.get("/readyz")
        health = await http.get("/healthz")

    assert ready.status_code == 503
    assert set(ready.json()["tables"].values()) == {"unreachable"}
    assert health.json() == {"status": "ok"}


async def test_readyz_reuses_its_answer_for_the_cache_time(
    settings: Settings, store: Store
) -> None:
    prefix = f"late-{uuid.uuid4().hex[:8]}-"
    async with client(settings, table_prefix=prefix, readiness_cache_seconds=300) as cached:
        async with client(settings, table_prefix=prefix, readiness_cache_seconds=0) as fresh:
            before = (await cached.get("/readyz")).status_code
            async with open_store(
                store_options(settings.model_copy(update={"table_prefix": prefix}))
            ) as late:
                await late.create_tables()
            after_cached = (await cached.get("/readyz")).status_code
            after_fresh = (await fresh.get("/readyz")).status_code

    assert (before, after_cached, after_fresh) == (503, 503, 200)


async def test_healthz_calls_no_dynamodb_and_readyz_describes_each_table_once(
    settings: Settings, store: Store
) -> None:
    async with client(settings, readiness_cache_seconds=0) as http:
        with instrument.track() as health:
            await http.get("/healthz")
        with instrument.track() as ready:
            await http.get("/readyz")

    assert health.calls == []
    assert sorted(call.split(" ")[0] for call in ready.calls) == ["DescribeTable"] * 7
