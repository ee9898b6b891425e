"""Shared fixtures: one moto server over HTTP for the session, the app on it, users per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from starlette.types import ASGIApp

from server import quotas
from server.app import create_app
from server.settings import Settings
from server.store import Store, open_store
from server.store.embedded import EmbeddedDynamoDB
from server.wiring import store_options

# The store talks to the moto server only; these keep any real AWS credentials out of the tests.
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="us-east-1",
)


@pytest.fixture(scope="session")
def dynamodb_endpoint() -> Iterator[str]:
    with EmbeddedDynamoDB() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def settings(dynamodb_endpoint: str) -> Settings:
    return Settings(
        store="dynamodb",
        dynamodb_endpoint_url=dynamodb_endpoint,
        table_prefix=f"test-{uuid.uuid4().hex[:8]}-",
        # Tests write the catalog table directly; the cache has tests of its own.
        builtin_cache_seconds=0,
        # Deployments stay where the tests put them; the worker has tests of its own.
        deployer="none",
        # Nor does the sweep fail them behind the tests' backs; it has tests of its own.
        deployment_sweep_seconds=3600,
        # Nor does a change feed read the stream in the background of every test (it would
        # count in tests of what a request does); it has tests of its own, on servers of theirs.
        change_feed="poll",
        # The loopback default, and the hosts in-process test clients name (`http://test`);
        # tests/edge/test_hosts.py tests the default itself.
        allowed_hosts=("localhost", "127.0.0.1", "[::1]", "test", "t"),
    )


@pytest.fixture(scope="session")
async def store(settings: Settings) -> AsyncIterator[Store]:
    async with open_store(store_options(settings)) as store:
        await store.create_tables()
        await store.seed_builtin_tools()
        yield store


@pytest.fixture(scope="session")
async def app(settings: Settings, store: Store) -> AsyncIterator[ASGIApp]:
    async with LifespanManager(create_app(settings)) as manager:
        yield manager.app


@pytest.fixture
def lower_quotas(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Set quotas of `server.quotas` by name for one test (the server reads them at each use),
    so that a test reaches a quota without creating hundreds of items."""

    def lower(**values: int) -> None:
        for name, value in values.items():
            assert isinstance(getattr(quotas, name), int), name
            monkeypatch.setattr(quotas, name, value)

    return lower


@pytest.fixture
def user_id() -> str:
    """A fresh user per test: every test works in its own DynamoDB partition."""
    return f"user-{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def client(app: ASGIApp, user_id: str) -> AsyncIterator[GraphQLClient]:
    async with GraphQLClient.for_app(app, user_id) as client:
        yield client


class GraphQLClient:
    """An httpx client that posts GraphQL documents as one dev-auth user."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    @classmethod
    def for_app(cls, app: ASGIApp, user_id: str | None, groups: str = "") -> GraphQLClient:
        headers = {"X-Dev-User": user_id} if user_id is not None else {}
        if groups:
            headers["X-Dev-Groups"] = groups
        transport = httpx.ASGITransport(app=app)
        return cls(
            httpx.AsyncClient(transport=transport, base_url="http://localhost", headers=headers)
        )

    async def __aenter__(self) -> GraphQLClient:
        await self.http.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.http.__aexit__(*exc_info)

    async def execute(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The whole response body; the HTTP status must be 200."""
        response = await self.http.post("/graphql", json={"query": query, "variables": variables})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The `data` of a response that must have no errors."""
        body = await self.execute(query, variables)
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data

    async def error(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The one error of a response that must fail."""
        body = await self.execute(query, variables)
        assert len(body.get("errors") or []) == 1, body
        error: dict[str, Any] = body["errors"][0]
        return error
