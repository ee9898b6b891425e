"""Limits at the edge: request body size and query depth."""

from __future__ import annotations

from collections.abc import AsyncIterator

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
    async def chunks() -> AsyncIterator[bytes]:
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


def chain(levels: int) -> str:
    """`project { latestDeployment { project { ... { id } } } }`: `levels` levels of fields,
    the leaf `id` included (one object each, so cheap whatever the depth)."""
    names = ["project", "latestDeployment"] * levels
    selection = "id"
    for name in reversed(names[: levels - 1]):
        selection = f"{name} {{ {selection} }}"
    return selection


def nested(levels: int) -> str:
    """A query of `levels` levels of fields, the root field `deployment` included."""
    return f'{{ deployment(id: "d") {{ {chain(levels - 1)} }} }}'


def test_nested_counts_its_levels() -> None:
    assert nested(4) == '{ deployment(id: "d") { project { latestDeployment { id } } } }'


async def test_a_query_of_11_field_levels_is_refused(client: GraphQLClient) -> None:
    error = await client.error(nested(11))

    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert error["message"] == (
        "'anonymous' exceeds maximum operation depth of 10 field levels (it has 11)"
    )


async def test_a_query_of_10_field_levels_is_served(client: GraphQLClient) -> None:
    body = await client.execute(nested(10))

    assert body == {"data": {"deployment": None}}


async def test_depth_counts_through_fragments(client: GraphQLClient) -> None:
    query = f'{{ deployment(id: "d") {{ ...Deep }} }} fragment Deep on Deployment {{ {chain(10)} }}'

    error = await client.error(query)

    assert "(it has 11)" in error["message"]


async def test_introspection_is_left_to_its_own_depth_rule(client: GraphQLClient) -> None:
    type_ref = "kind name " + "ofType { kind name " * 8 + "}" * 8
    query = f"{{ __schema {{ types {{ fields {{ type {{ {type_ref} }} }} }} }} }}"

    body = await client.execute(query)

    assert "errors" not in body
    assert body["data"]["__schema"]["types"]
