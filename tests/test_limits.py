"""Limits at the edge: request body size and query depth."""

from __future__ import annotations

import httpx
from starlette.types import ASGIApp

from tests.conftest import GraphQLClient


async def test_a_body_over_1_mib_is_refused_with_413_before_parsing(app: ASGIApp) -> None:
    big = '{"query": "{ viewer { userId } }", "padding": "' + "x" * (1024 * 1024) + '"}'
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://localhost"
    ) as http:
        response = await http.post(
            "/graphql", content=big, headers={"content-type": "application/json"}
        )

    assert response.status_code == 413


async def test_a_streamed_body_over_1_mib_is_refused_too(app: ASGIApp) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        yield b'{"query": "{ viewer { userId } }", "padding": "'
        for _ in range(20):
            yield b"x" * 65536
        yield b'"}'

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://localhost"
    ) as http:
        response = await http.post(
            "/graphql", content=chunks(), headers={"content-type": "application/json"}
        )

    assert response.status_code == 413


async def test_a_body_under_the_limit_is_served(client: GraphQLClient) -> None:
    padding = "x" * (1024 * 1024 - 1000)
    body = await client.execute(
        "query($p: String!) { builtinTool(name: $p) { name } }", {"p": padding}
    )

    assert body == {"data": {"builtinTool": None}}


def nested(depth: int) -> str:
    """`{ projects { agents { project { agents ... { id } } } } }` whose leaf is `depth + 1`
    deep as the limit counts (the root field is depth 0)."""
    names = (["projects"] + ["agents", "project"] * depth)[: depth + 1]
    query = "id"
    for name in reversed(names):
        query = f"{name} {{ {query} }}"
    return f"{{ {query} }}"


async def test_a_query_deeper_than_10_is_refused(client: GraphQLClient) -> None:
    error = await client.error(nested(10))

    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "exceeds maximum operation depth of 10" in error["message"]


async def test_a_query_10_deep_is_served(client: GraphQLClient) -> None:
    body = await client.execute(nested(9))

    assert "errors" not in body
