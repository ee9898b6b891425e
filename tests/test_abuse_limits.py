"""Abuse limits and the HTTP edge: each refusal with its code or status."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from starlette.types import ASGIApp

from server.app import create_app
from server.settings import Settings
from server.store import Store
from tests.conftest import GraphQLClient

INTROSPECT = "{ __schema { queryType { name } } }"


@asynccontextmanager
async def app_with(settings: Settings, **changes: Any) -> AsyncIterator[ASGIApp]:
    async with LifespanManager(create_app(settings.model_copy(update=changes))) as manager:
        yield manager.app


def http(app: ASGIApp, **headers: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://localhost", headers=headers
    )


def aliases(count: int) -> str:
    return "{ " + " ".join(f"a{i}: viewer {{ userId }}" for i in range(count)) + " }"


async def test_thirty_aliases_are_served_and_thirty_one_refused(client: GraphQLClient) -> None:
    served = await client.execute(aliases(30))
    refused = await client.error(aliases(31))

    assert "errors" not in served
    assert refused["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_a_document_of_more_than_2000_tokens_is_refused(client: GraphQLClient) -> None:
    many = "{ viewer { " + " ".join(["userId"] * 2100) + " } }"

    error = await client.error(many)

    assert error["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    assert "tokens" in error["message"]


async def test_batched_operations_are_refused(app: ASGIApp) -> None:
    async with http(app) as client:
        response = await client.post(
            "/graphql", json=[{"query": "{ viewer { userId } }"}, {"query": "{ projects { id } }"}]
        )

    assert response.status_code == 400


async def test_get_runs_queries_but_never_mutations(app: ASGIApp) -> None:
    async with http(app) as client:
        query = await client.get("/graphql", params={"query": "{ viewer { userId } }"})
        mutation = await client.get(
            "/graphql", params={"query": 'mutation { createProject(input: {name: "x"}) { id } }'}
        )

    assert query.json() == {"data": {"viewer": {"userId": "dev-user"}}}
    assert mutation.status_code == 405
    assert mutation.headers["allow"] == "POST"
    assert "mutations run over POST only" in mutation.json()["errors"][0]["message"]


async def test_non_json_posts_are_refused_as_unsupported_media_types(app: ASGIApp) -> None:
    async with http(app) as client:
        form = await client.post(
            "/graphql",
            content="query=mutation+%7B+deleteProject(id%3A+%22x%22)+%7D",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        text = await client.post(
            "/graphql",
            content='{"query": "{ viewer { userId } }"}',
            headers={"content-type": "text/plain"},
        )

    for response in (form, text):
        assert response.status_code == 415
        assert response.json()["errors"][0]["extensions"]["code"] == "UNSUPPORTED_MEDIA_TYPE"


async def test_responses_carry_security_headers(app: ASGIApp) -> None:
    async with http(app) as client:
        api = await client.post("/graphql", json={"query": "{ viewer { userId } }"})
        page = await client.get("/graphql", headers={"Accept": "text/html"})

    for response in (api, page):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
    assert api.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    page_csp = page.headers["content-security-policy"]
    assert "script-src 'self';" in page_csp
    assert "default-src 'none'" in page_csp
    assert "unsafe" not in page_csp


async def test_cors_allows_only_the_configured_origins(settings: Settings, store: Store) -> None:
    def preflight(client: httpx.AsyncClient, origin: str) -> Any:
        return client.options(
            "/graphql",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )

    async with app_with(settings, cors_origins=("https://app.example",)) as app, http(app) as c:
        allowed = await preflight(c, "https://app.example")
        refused = await preflight(c, "https://evil.example")
    async with (
        app_with(
            settings,
            auth_mode="cognito",
            cognito_region="us-east-1",
            cognito_user_pool_id="us-east-1_x",
            cognito_client_ids=("c",),
            cognito_jwks_url="http://127.0.0.1:9/jwks",
        ) as app,
        http(app) as c,
    ):
        closed = await preflight(c, "https://app.example")

    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    assert "access-control-allow-origin" not in refused.headers
    assert "access-control-allow-origin" not in closed.headers


async def test_introspection_can_be_switched_off_and_then_suggests_nothing(
    settings: Settings, store: Store
) -> None:
    async with app_with(settings, introspection=False) as app:
        async with GraphQLClient.for_app(app, "introspector") as client:
            refused = await client.execute(INTROSPECT)
            typo = await client.error("{ projcts { id } }")

    assert refused["data"] is None
    assert {e["extensions"]["code"] for e in refused["errors"]} == {"GRAPHQL_VALIDATION_FAILED"}
    assert "Did you mean" not in typo["message"]


async def test_introspection_is_on_in_dev_mode(client: GraphQLClient) -> None:
    data = await client.data(INTROSPECT)

    assert data == {"__schema": {"queryType": {"name": "Query"}}}


async def test_an_operation_over_its_time_budget_is_service_unavailable(
    settings: Settings, store: Store
) -> None:
    async with app_with(settings, operation_timeout_seconds=0.001) as app:
        async with GraphQLClient.for_app(app, "slowpoke") as client:
            error = await client.error("{ projects { id agents { id } tools { id } } }")

    assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert "longer than" in error["message"]
