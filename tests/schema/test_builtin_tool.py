"""Built-in tools: the seeded catalog, read by every user."""

from __future__ import annotations

from server.models import BuiltinTool
from server.store import Store
from tests.conftest import GraphQLClient

LIST = """
query List($category: String, $all: Boolean! = false) {
  builtinTools(category: $category, includeInactive: $all) { name category isActive }
}
"""
GET = """
query Get($name: String!) { builtinTool(name: $name) { name type category inputSchema isActive } }
"""


async def test_the_seeded_catalog_is_listed_by_name(client: GraphQLClient) -> None:
    tools = (await client.data(LIST))["builtinTools"]

    names = [tool["name"] for tool in tools]
    assert names == sorted(names)
    assert {"web-search", "calculator", "http-request", "current-time"} <= set(names)
    assert all(tool["isActive"] for tool in tools)


async def test_one_tool_comes_with_its_input_schema(client: GraphQLClient) -> None:
    tool = (await client.data(GET, {"name": "calculator"}))["builtinTool"]
    missing = (await client.data(GET, {"name": "no-such-tool"}))["builtinTool"]

    assert tool["category"] == "math"
    assert tool["inputSchema"]["type"] == "object"
    assert tool["inputSchema"]["required"] == ["expression"]
    assert missing is None


async def test_inactive_tools_are_listed_only_on_request(
    client: GraphQLClient, store: Store
) -> None:
    await store.builtin_tools.put_many(
        [
            BuiltinTool(
                tool_name="zz-retired",
                description="Retired",
                type="utility",
                input_schema={"type": "object"},
                category="retired-tests",
                is_active=False,
            )
        ]
    )

    active = (await client.data(LIST, {"category": "retired-tests"}))["builtinTools"]
    everything = (await client.data(LIST, {"category": "retired-tests", "all": True}))[
        "builtinTools"
    ]

    assert active == []
    assert everything == [{"name": "zz-retired", "category": "retired-tests", "isActive": False}]
