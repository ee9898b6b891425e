"""Custom tools over GraphQL: create, get, update with versions, delete, their input rules,
names unique per user, and the agents that use them."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from starlette.types import ASGIApp

from server.edge.body import MAX_JSON_DEPTH
from server.store import Store
from server.store.dynamo import Expression
from server.store.usage import USAGE_ID
from tests.conftest import GraphQLClient
from tests.documents import (
    CREATE_AGENT,
    CREATE_PROJECT,
    DELETE_AGENT,
    DELETE_TOOL,
    TOOL_FIELDS,
    UPDATE_AGENT,
)
from tests.text_cases import ORDINARY_TEXT, UNPRINTABLE_TEXT

CREATE = f"""
mutation Create($projectId: ID!, $input: ToolInput!) {{
  createTool(projectId: $projectId, input: $input) {{ {TOOL_FIELDS} }}
}}
"""
UPDATE = f"""
mutation Update($id: ID!, $input: UpdateToolInput!) {{
  updateTool(id: $id, input: $input) {{ {TOOL_FIELDS} }}
}}
"""
GET = f"query Get($id: ID!) {{ tool(id: $id) {{ {TOOL_FIELDS} }} }}"
NESTED = """
query Nested($id: ID!) {
  tool(id: $id) { project { id name } usedBy { id name toolNames } }
}
"""
PROJECT = """
query Project($id: ID!) { project(id: $id) { toolIds tools { id name } } }
"""

SCHEMA = {
    "type": "object",
    "properties": {"query": {"type": "string", "description": "What to look for"}},
    "required": ["query"],
}
MODEL = {"region": "us-east-1", "modelId": "anthropic.claude-3-sonnet-20240229-v1:0"}
UNKNOWN_ID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
MAX_SCHEMA_BYTES = 64 * 1024
ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def action(name: str = "open-page", **fields: Any) -> dict[str, Any]:
    return {"name": name, "type": "FRONTEND_ACTION", "inputSchema": SCHEMA, **fields}


def code_tool(name: str = "run-query", **fields: Any) -> dict[str, Any]:
    return {"name": name, "type": "CODE", "inputSchema": SCHEMA, "code": "return 1", **fields}


def schema_of_size(size: int) -> dict[str, Any]:
    """An object schema whose compact JSON is exactly `size` bytes."""
    schema: dict[str, Any] = {"type": "object", "description": ""}
    overhead = len(json.dumps(schema, separators=(",", ":")))
    return {**schema, "description": "d" * (size - overhead)}


async def create_project(client: GraphQLClient, name: str = "Tools home") -> str:
    data = await client.data(CREATE_PROJECT, {"input": {"name": name}})
    project_id: str = data["createProject"]["id"]
    return project_id


async def create(client: GraphQLClient, project_id: str, tool: dict[str, Any]) -> dict[str, Any]:
    data = await client.data(CREATE, {"projectId": project_id, "input": tool})
    created: dict[str, Any] = data["createTool"]
    return created


async def create_agent(
    client: GraphQLClient, project_id: str, name: str, tool_names: list[str]
) -> str:
    agent = {"name": name, "systemPrompt": "Use tools.", "model": MODEL, "toolNames": tool_names}
    data = await client.data(CREATE_AGENT, {"projectId": project_id, "input": agent})
    agent_id: str = data["createAgent"]["id"]
    return agent_id


async def get(client: GraphQLClient, tool_id: str) -> dict[str, Any] | None:
    tool: dict[str, Any] | None = (await client.data(GET, {"id": tool_id}))["tool"]
    return tool


async def project_tools(client: GraphQLClient, project_id: str) -> dict[str, Any]:
    project: dict[str, Any] = (await client.data(PROJECT, {"id": project_id}))["project"]
    return project


async def stored_items(store: Store, user_id: str) -> list[dict[str, Any]]:
    """Every item of the user's partition of the Tools table, name reservations included
    (but not the account's usage item, which `tests/store/test_usage.py` covers)."""
    key = Expression("userId = :user", values={":user": user_id})
    items = store.dynamo.query(store.tables.tools, key, consistent=True)
    return [item async for item in items if item["toolId"] != USAGE_ID]


async def stored_tools(store: Store, user_id: str) -> list[dict[str, Any]]:
    """The user's stored tools, without name reservations."""
    return [item for item in await stored_items(store, user_id) if "projectId" in item]


async def test_a_frontend_action_tool_has_no_code_and_starts_at_version_1(
    client: GraphQLClient,
) -> None:
    project_id = await create_project(client)

    tool = await create(client, project_id, action(description="Opens a page"))

    assert ULID.match(tool["id"])
    assert tool["projectId"] == project_id
    assert tool["name"] == "open-page"
    assert tool["description"] == "Opens a page"
    assert tool["type"] == "FRONTEND_ACTION"
    assert tool["inputSchema"] == SCHEMA
    assert tool["code"] is None
    assert tool["version"] == 1
    assert TIMESTAMP.match(tool["createdAt"])
    assert tool["createdAt"] == tool["updatedAt"]
    assert await get(client, tool["id"]) == tool
    assert (await project_tools(client, project_id))["toolIds"] == [tool["id"]]


async def test_a_code_tool_keeps_its_code(client: GraphQLClient) -> None:
    project_id = await create_project(client)

    tool = await create(client, project_id, code_tool(code="def run(query):\n    return query\n"))

    assert tool["type"] == "CODE"
    assert tool["code"] == "def run(query):\n    return query\n"
    assert tool["description"] == ""
    assert await get(client, tool["id"]) == tool


async def test_tools_are_stored_as_the_seed_describes(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    project_id = await create_project(client)
    frontend = await create(client, project_id, action(description="Opens a page"))
    code = await create(client, project_id, code_tool(code="print('hi')"))

    frontend_item = await store.dynamo.get_item(
        store.tables.tools, {"userId": user_id, "toolId": frontend["id"]}, consistent=True
    )
    code_item = await store.dynamo.get_item(
        store.tables.tools, {"userId": user_id, "toolId": code["id"]}, consistent=True
    )

    frontend_config = {
        "name": "open-page",
        "description": "Opens a page",
        "type": "frontend_action",
        "inputSchema": SCHEMA,
    }
    code_config = {
        "name": "run-query",
        "description": "",
        "type": "code",
        "inputSchema": SCHEMA,
        "code": "print('hi')",
    }
    assert frontend_item == {
        "userId": user_id,
        "toolId": frontend["id"],
        "projectId": project_id,
        "name": "open-page",
        "config": frontend_config,
        "createdAt": frontend["createdAt"],
        "updatedAt": frontend["updatedAt"],
        "version": 1,
    }
    assert code_item == {
        "userId": user_id,
        "toolId": code["id"],
        "projectId": project_id,
        "name": "run-query",
        "config": code_config,
        "createdAt": code["createdAt"],
        "updatedAt": code["updatedAt"],
        "version": 1,
    }
    assert (frontend["config"], code["config"]) == (frontend_config, code_config)


async def test_tool_by_id_is_null_for_unknown_and_malformed_ids(client: GraphQLClient) -> None:
    assert await get(client, UNKNOWN_ID) is None
    assert await get(client, "not a key / ##") is None
    assert await get(client, "") is None


async def test_code_rules_follow_the_tool_type_and_refusals_write_nothing(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    project_id = await create_project(client)
    cases = [
        code_tool(code=None),
        {"name": "no-code", "type": "CODE", "inputSchema": SCHEMA},
        code_tool(code=""),
        code_tool(code="c" * 200_001),
        action(code="alert(1)"),
        action(code=""),
    ]

    for tool in cases:
        error = await client.error(CREATE, {"projectId": project_id, "input": tool})
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "code"}, tool

    assert (await project_tools(client, project_id))["toolIds"] == []
    assert await stored_items(store, user_id) == []
    longest = await create(client, project_id, code_tool(code="c" * 200_000))
    assert len(longest["code"]) == 200_000


async def test_invalid_tool_names_are_bad_user_input_and_write_nothing(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    project_id = await create_project(client)
    names = ["", "has space", "dotted.name", "slash/name", "n" * 65, "émoji", "tab\t", "end\n"]

    for name in names:
        error = await client.error(CREATE, {"projectId": project_id, "input": action(name)})
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "name"}, name

    assert await stored_items(store, user_id) == []
    tool = await create(client, project_id, action("Az09_-" + "n" * 58))
    assert len(tool["name"]) == 64


async def test_invalid_input_schemas_are_bad_user_input_and_write_nothing(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    project_id = await create_project(client)
    schemas: list[Any] = [
        [{"type": "object"}],
        "object",
        42,
        True,
        {},
        {"type": "string"},
        {"type": ["object", "null"]},
        {"properties": {"a": {"type": "string"}}},
        {"type": "object", "properties": {"a": {"type": "nonsense"}}},
        {"type": "object", "required": "query"},
        {"type": "object", "minProperties": -1},
        {"type": "object", "properties": []},
        schema_of_size(MAX_SCHEMA_BYTES + 1),
    ]

    for schema in schemas:
        tool = action(inputSchema=schema)
        error = await client.error(CREATE, {"projectId": project_id, "input": tool})
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "inputSchema"}, schema

    assert await stored_items(store, user_id) == []
    largest = await create(client, project_id, action(inputSchema=schema_of_size(MAX_SCHEMA_BYTES)))
    assert largest["inputSchema"] == schema_of_size(MAX_SCHEMA_BYTES)


async def test_names_are_unique_among_the_users_tools_across_projects(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    home = await create_project(client, "Home")
    elsewhere = await create_project(client, "Elsewhere")
    tool = await create(client, home, action("search"))

    same_project = await client.error(CREATE, {"projectId": home, "input": code_tool("search")})
    other_project = await client.error(CREATE, {"projectId": elsewhere, "input": action("search")})

    for error in (same_project, other_project):
        assert error["extensions"]["code"] == "CONFLICT"
        assert "search" in error["message"]
    assert (await project_tools(client, home))["toolIds"] == [tool["id"]]
    assert (await project_tools(client, elsewhere))["toolIds"] == []
    assert [item["toolId"] for item in await stored_tools(store, user_id)] == [tool["id"]]


async def test_names_are_case_sensitive(client: GraphQLClient) -> None:
    project_id = await create_project(client)

    upper = await create(client, project_id, action("Search"))
    lower = await create(client, project_id, action("search"))

    assert (upper["name"], lower["name"]) == ("Search", "search")
    assert (await project_tools(client, project_id))["tools"] == [
        {"id": upper["id"], "name": "Search"},
        {"id": lower["id"], "name": "search"},
    ]


async def test_two_users_may_each_have_a_tool_of_one_name(
    client: GraphQLClient, app: ASGIApp
) -> None:
    project_id = await create_project(client)
    mine = await create(client, project_id, action("shared-name"))

    async with GraphQLClient.for_app(app, f"neighbour-{uuid.uuid4().hex[:8]}") as neighbour:
        theirs = await create(neighbour, await create_project(neighbour), action("shared-name"))

    assert mine["name"] == theirs["name"] == "shared-name"
    assert mine["id"] != theirs["id"]


async def test_ten_concurrent_creates_of_one_name_let_exactly_one_win(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    projects = [await create_project(client, "One"), await create_project(client, "Two")]

    results = await asyncio.gather(
        *(
            client.execute(CREATE, {"projectId": projects[i % 2], "input": action("contested")})
            for i in range(10)
        )
    )

    winners = [result["data"]["createTool"] for result in results if "errors" not in result]
    losers = [result["errors"][0]["extensions"]["code"] for result in results if "errors" in result]
    assert len(winners) == 1
    assert losers == ["CONFLICT"] * 9
    listed = [await project_tools(client, project_id) for project_id in projects]
    assert [tool for project in listed for tool in project["tools"]] == [
        {"id": winners[0]["id"], "name": "contested"}
    ]
    assert [item["toolId"] for item in await stored_tools(store, user_id)] == [winners[0]["id"]]


async def test_update_changes_given_fields_and_bumps_the_version_each_time(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    project_id = await create_project(client)
    tool = await create(client, project_id, code_tool(description="Kept"))
    schema = {"type": "object", "properties": {"limit": {"type": "integer"}}}

    first = (await client.data(UPDATE, {"id": tool["id"], "input": {"code": "return 2"}}))[
        "updateTool"
    ]
    second = (
        await client.data(
            UPDATE, {"id": tool["id"], "input": {"inputSchema": schema, "expectedVersion": 2}}
        )
    )["updateTool"]

    assert (first["code"], first["description"], first["version"]) == ("return 2", "Kept", 2)
    assert (second["inputSchema"], second["code"], second["version"]) == (schema, "return 2", 3)
    assert second["createdAt"] == tool["createdAt"]
    assert await get(client, tool["id"]) == second
    item = await store.dynamo.get_item(
        store.tables.tools, {"userId": user_id, "toolId": tool["id"]}, consistent=True
    )
    assert item is not None
    assert item["version"] == 3
    assert item["config"] == {
        "name": "run-query",
        "description": "Kept",
        "type": "code",
        "inputSchema": schema,
        "code": "return 2",
    }


async def test_update_with_a_stale_version_conflicts_and_changes_nothing(
    client: GraphQLClient,
) -> None:
    project_id = await create_project(client)
    tool = await create(client, project_id, action())
    winner = (await client.data(UPDATE, {"id": tool["id"], "input": {"description": "won"}}))[
        "updateTool"
    ]

    error = await client.error(
        UPDATE, {"id": tool["id"], "input": {"name": "renamed", "expectedVersion": 1}}
    )

    assert error["extensions"]["code"] == "CONFLICT"
    assert await get(client, tool["id"]) == winner
    assert (await client.error(CREATE, {"projectId": project_id, "input": action()}))["extensions"][
        "code"
    ] == "CONFLICT"


async def test_invalid_tool_updates_are_bad_user_input_and_change_nothing(
    client: GraphQLClient,
) -> None:
    project_id = await create_project(client)
    tool = await create(client, project_id, code_tool())
    cases: list[tuple[dict[str, Any], str]] = [
        ({"name": "bad name"}, "name"),
        ({"name": "n" * 65}, "name"),
        ({"description": "d" * 4001}, "description"),
        ({"inputSchema": {"type": "array"}}, "inputSchema"),
        ({"inputSchema": {"type": "object", "required": 5}}, "inputSchema"),
        ({"inputSchema": schema_of_size(MAX_SCHEMA_BYTES + 1)}, "inputSchema"),
        ({"code": ""}, "code"),
        ({"code": "c" * 200_001}, "code"),
    ]

    for patch, field in cases:
        error = await client.error(UPDATE, {"id": tool["id"], "input": patch})
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}, (field, patch)

    assert await get(client, tool["id"]) == tool


async def test_changing_a_code_tool_to_a_frontend_action_drops_its_code(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    project_id = await create_project(client)
    tool = await create(client, project_id, code_tool())

    updated = (await client.data(UPDATE, {"id": tool["id"], "input": {"type": "FRONTEND_ACTION"}}))[
        "updateTool"
    ]

    assert (updated["type"], updated["code"], updated["version"]) == ("FRONTEND_ACTION", None, 2)
    item = await store.dynamo.get_item(
        store.tables.tools, {"userId": user_id, "toolId": tool["id"]}, consistent=True
    )
    assert item is not None
    assert item["config"] == {
        "name": "run-query",
        "description": "",
        "type": "frontend_action",
        "inputSchema": SCHEMA,
    }


async def test_setting_code_on_a_frontend_action_tool_is_bad_user_input(
    client: GraphQLClient,
) -> None:
    project_id = await create_project(client)
    tool = await create(client, project_id, action())
    code = await create(client, project_id, code_tool())

    on_action = await client.error(UPDATE, {"id": tool["id"], "input": {"code": "alert(1)"}})
    with_type = await client.error(
        UPDATE, {"id": code["id"], "input": {"type": "FRONTEND_ACTION", "code": "alert(1)"}}
    )

    for error in (on_action, with_type):
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "code"}
    assert await get(client, tool["id"]) == tool
    assert await get(client, code["id"]) == code


async def test_changing_a_frontend_action_to_code_requires_code(client: GraphQLClient) -> None:
    project_id = await create_project(client)
    tool = await create(client, project_id, action())

    refused = await client.error(UPDATE, {"id": tool["id"], "input": {"type": "CODE"}})
    accepted = await client.data(
        UPDATE, {"id": tool["id"], "input": {"type": "CODE", "code": "return 3"}}
    )

    assert refused["extensions"] == {"code": "BAD_USER_INPUT", "field": "code"}
    assert accepted["updateTool"]["type"] == "CODE"
    assert accepted["updateTool"]["code"] == "return 3"
    assert accepted["updateTool"]["version"] == 2


async def test_renaming_a_tool_frees_its_old_name(client: GraphQLClient) -> None:
    project_id = await create_project(client)
    tool = await create(client, project_id, action("old-name"))

    renamed = (await client.data(UPDATE, {"id": tool["id"], "input": {"name": "new-name"}}))[
        "updateTool"
    ]
    successor = await create(client, project_id, code_tool("old-name"))
    taken = await client.error(CREATE, {"projectId": project_id, "input": action("new-name")})

    assert (renamed["name"], renamed["config"]["name"], renamed["version"]) == (
        "new-name",
        "new-name",
        2,
    )
    assert successor["name"] == "old-name"
    assert taken["extensions"]["code"] == "CONFLICT"


async def test_renaming_to_a_taken_name_conflicts_and_changes_nothing(
    client: GraphQLClient,
) -> None:
    home = await create_project(client, "Home")
    elsewhere = await create_project(client, "Elsewhere")
    tool = await create(client, home, action("mine"))
    await create(client, elsewhere, action("taken"))

    error = await client.error(UPDATE, {"id": tool["id"], "input": {"name": "taken"}})

    assert error["extensions"]["code"] == "CONFLICT"
    assert await get(client, tool["id"]) == tool
    freed = await client.error(CREATE, {"projectId": home, "input": action("mine")})
    assert freed["extensions"]["code"] == "CONFLICT"


async def test_renaming_a_used_tool_conflicts_naming_the_agents(client: GraphQLClient) -> None:
    project_id = await create_project(client)
    tool = await create(client, project_id, action("lookup"))
    await create_agent(client, project_id, "Support Bot", ["lookup"])
    await create_agent(client, project_id, "Sales Bot", ["lookup"])

    error = await client.error(UPDATE, {"id": tool["id"], "input": {"name": "lookup-v2"}})

    assert error["extensions"]["code"] == "CONFLICT"
    assert "Support Bot" in error["message"]
    assert "Sales Bot" in error["message"]
    assert await get(client, tool["id"]) == tool
    assert (await create(client, project_id, action("lookup-v2")))["name"] == "lookup-v2"


async def test_deleting_a_used_tool_conflicts_naming_the_agents(client: GraphQLClient) -> None:
    project_id = await create_project(client)
    tool = await create(client, project_id, action("lookup"))
    await create_agent(client, project_id, "Support Bot", ["lookup"])

    error = await client.error(DELETE_TOOL, {"id": tool["id"]})

    assert error["extensions"]["code"] == "CONFLICT"
    assert "Support Bot" in error["message"]
    assert await get(client, tool["id"]) == tool
    assert (await project_tools(client, project_id))["toolIds"] == [tool["id"]]


async def test_a_used_tool_can_still_change_everything_but_its_name(
    client: GraphQLClient,
) -> None:
    project_id = await create_project(client)
    tool = await create(client, project_id, action("lookup"))
    await create_agent(client, project_id, "Support Bot", ["lookup"])

    data = await client.data(
        UPDATE,
        {
            "id": tool["id"],
            "input": {
                "name": "lookup",
                "description": "Looks up",
                "type": "CODE",
                "code": "return 4",
            },
        },
    )

    assert data["updateTool"]["name"] == "lookup"
    assert data["updateTool"]["description"] == "Looks up"
    assert data["updateTool"]["version"] == 2


async def test_a_tool_no_agent_uses_any_more_can_be_renamed_and_deleted(
    client: GraphQLClient,
) -> None:
    project_id = await create_project(client)
    renamed_tool = await create(client, project_id, action("first"))
    deleted_tool = await create(client, project_id, action("second"))
    dropping = await create_agent(client, project_id, "Dropping", ["first", "second"])
    deleted = await create_agent(client, project_id, "Deleted", ["second"])

    await client.data(UPDATE_AGENT, {"id": dropping, "input": {"toolNames": []}})
    await client.data(DELETE_AGENT, {"id": deleted})
    renamed = await client.data(UPDATE, {"id": renamed_tool["id"], "input": {"name": "first-v2"}})
    removed = await client.data(DELETE_TOOL, {"id": deleted_tool["id"]})

    assert renamed["updateTool"]["name"] == "first-v2"
    assert removed["deleteTool"] == deleted_tool["id"]
    assert (await project_tools(client, project_id))["toolIds"] == [renamed_tool["id"]]


async def test_used_by_lists_the_agents_that_use_the_tool(client: GraphQLClient) -> None:
    project_id = await create_project(client, "Used")
    tool = await create(client, project_id, action("lookup"))
    await create(client, project_id, action("other"))
    first = await create_agent(client, project_id, "First", ["lookup"])
    second = await create_agent(client, project_id, "Second", ["other", "lookup"])
    await create_agent(client, project_id, "Bystander", ["other"])

    nested = (await client.data(NESTED, {"id": tool["id"]}))["tool"]

    assert nested["project"] == {"id": project_id, "name": "Used"}
    assert sorted(nested["usedBy"], key=lambda agent: agent["name"]) == [
        {"id": first, "name": "First", "toolNames": ["lookup"]},
        {"id": second, "name": "Second", "toolNames": ["other", "lookup"]},
    ]
    await client.data(UPDATE_AGENT, {"id": first, "input": {"toolNames": []}})
    after = (await client.data(NESTED, {"id": tool["id"]}))["tool"]
    assert [agent["id"] for agent in after["usedBy"]] == [second]


async def test_project_tools_follow_tool_ids_and_never_show_name_reservations(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    project_id = await create_project(client)
    tools = [await create(client, project_id, action(f"tool-{i}")) for i in range(4)]
    reservations = [item for item in await stored_items(store, user_id) if "projectId" not in item]

    project = await project_tools(client, project_id)

    assert project["toolIds"] == [tool["id"] for tool in tools]
    assert project["tools"] == [{"id": tool["id"], "name": tool["name"]} for tool in tools]
    assert len(reservations) == 4
    for reservation in reservations:
        assert await get(client, reservation["toolId"]) is None
        for document, variables in (
            (UPDATE, {"id": reservation["toolId"], "input": {"description": "x"}}),
            (DELETE_TOOL, {"id": reservation["toolId"]}),
        ):
            error = await client.error(document, variables)
            assert error["extensions"]["code"] == "NOT_FOUND", reservation


async def test_delete_removes_the_tool_from_tool_ids_and_frees_its_name(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    project_id = await create_project(client)
    tools = [await create(client, project_id, action(f"tool-{i}")) for i in range(3)]

    data = await client.data(DELETE_TOOL, {"id": tools[1]["id"]})
    again = await client.error(DELETE_TOOL, {"id": tools[1]["id"]})
    successor = await create(client, project_id, action("tool-1"))

    assert data["deleteTool"] == tools[1]["id"]
    assert again["extensions"]["code"] == "NOT_FOUND"
    assert await get(client, tools[1]["id"]) is None
    remaining = [tools[0]["id"], tools[2]["id"], successor["id"]]
    project = await project_tools(client, project_id)
    assert project["toolIds"] == remaining
    assert [tool["id"] for tool in project["tools"]] == remaining
    assert sorted(item["toolId"] for item in await stored_tools(store, user_id)) == sorted(
        remaining
    )


async def test_updating_or_deleting_an_unknown_tool_is_not_found(client: GraphQLClient) -> None:
    for document, variables in (
        (UPDATE, {"id": UNKNOWN_ID, "input": {"description": "x"}}),
        (UPDATE, {"id": UNKNOWN_ID, "input": {}}),
        (UPDATE, {"id": "not a key / ##", "input": {"description": "x"}}),
        (DELETE_TOOL, {"id": UNKNOWN_ID}),
        (DELETE_TOOL, {"id": ""}),
    ):
        error = await client.error(document, variables)
        assert error["extensions"]["code"] == "NOT_FOUND", (document, variables)


async def test_creating_a_tool_in_an_unknown_project_is_not_found_and_writes_nothing(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    for project_id in (UNKNOWN_ID, "not a key / ##"):
        error = await client.error(CREATE, {"projectId": project_id, "input": action("lost")})
        assert error["extensions"]["code"] == "NOT_FOUND", project_id

    assert await stored_items(store, user_id) == []


async def test_another_users_tool_is_invisible_and_unchangeable(
    client: GraphQLClient, app: ASGIApp
) -> None:
    project_id = await create_project(client)
    tool = await create(client, project_id, code_tool("private"))

    async with GraphQLClient.for_app(app, f"intruder-{uuid.uuid4().hex[:8]}") as intruder:
        seen = await intruder.data(GET, {"id": tool["id"]})
        update = await intruder.error(UPDATE, {"id": tool["id"], "input": {"code": "pwned"}})
        delete = await intruder.error(DELETE_TOOL, {"id": tool["id"]})
        planted = await intruder.error(
            CREATE, {"projectId": project_id, "input": action("planted")}
        )
        own_project = await create_project(intruder, "Intruder's")
        same_name = await create(intruder, own_project, action("planted"))

    assert seen["tool"] is None
    assert update["extensions"]["code"] == "NOT_FOUND"
    assert delete["extensions"]["code"] == "NOT_FOUND"
    assert planted["extensions"]["code"] == "NOT_FOUND"
    assert same_name["name"] == "planted"
    assert await get(client, tool["id"]) == tool
    assert (await project_tools(client, project_id))["toolIds"] == [tool["id"]]


async def test_an_input_schema_keeps_integers_beyond_64_bits(client: GraphQLClient) -> None:
    project_id = await create_project(client)
    schema = {"type": "object", "properties": {"n": {"type": "integer", "maximum": 10**30}}}

    created = await create(client, project_id, code_tool(inputSchema=schema))
    fetched = (await client.data(GET, {"id": created["id"]}))["tool"]

    assert created["inputSchema"] == schema
    assert fetched["inputSchema"]["properties"]["n"]["maximum"] == 10**30


# What DynamoDB cannot store, written as JSON text: `json.dumps` would refuse NaN, but a
# client's JSON parser (and the server's, Python's `json`) takes it.
UNSTORABLE_NUMBERS = [
    ("1e308", "in magnitude (1E+308 at /properties/n/maximum)"),
    ("1" + "0" * 400, "in magnitude (1E+400 at /properties/n/maximum)"),
    ("1e-131", "in magnitude (1E-131 at /properties/n/maximum)"),
    ("1" * 39, "at most 38 significant digits (39 at /properties/n/maximum)"),
]


def unexpected_errors(caplog: pytest.LogCaptureFixture) -> list[Any]:
    return [record for record in caplog.records if record.name == "server.errors"]


async def post_text(client: GraphQLClient, query: str, variables: str) -> dict[str, Any]:
    """The one error of `query` with `variables` given as JSON text."""
    body = f'{{"query": {json.dumps(query)}, "variables": {variables}}}'
    response = await client.http.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 200, response.text
    errors: list[dict[str, Any]] = response.json()["errors"]
    assert len(errors) == 1, errors
    return errors[0]


@pytest.mark.parametrize(("number", "message"), UNSTORABLE_NUMBERS, ids=lambda v: str(v)[:12])
async def test_numbers_dynamodb_cannot_store_are_bad_user_input_in_variables(
    client: GraphQLClient,
    store: Store,
    user_id: str,
    caplog: pytest.LogCaptureFixture,
    number: str,
    message: str,
) -> None:
    project_id = await create_project(client)
    tool = await create(client, project_id, code_tool("kept"))
    schema = (
        f'{{"type": "object", "properties": {{"n": {{"type": "number", "maximum": {number}}}}}}}'
    )
    new_tool = f'{{"name": "t", "type": "FRONTEND_ACTION", "inputSchema": {schema}}}'

    errors = [
        await post_text(client, CREATE, f'{{"projectId": "{project_id}", "input": {new_tool}}}'),
        await post_text(
            client, UPDATE, f'{{"id": "{tool["id"]}", "input": {{"inputSchema": {schema}}}}}'
        ),
    ]

    for error in errors:
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "inputSchema"}
        assert error["message"].startswith("inputSchema: ")
        assert message in error["message"]
    assert await stored_tools(store, user_id) == [await stored_tool(store, user_id, tool["id"])]
    assert await get(client, tool["id"]) == tool
    assert unexpected_errors(caplog) == []


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
async def test_nan_and_infinity_in_variables_are_not_json_and_refused_before_anything_runs(
    client: GraphQLClient,
    store: Store,
    user_id: str,
    caplog: pytest.LogCaptureFixture,
    constant: str,
) -> None:
    project_id = await create_project(client)
    schema = f'{{"type": "object", "properties": {{"n": {{"maximum": {constant}}}}}}}'
    new_tool = f'{{"name": "t", "type": "FRONTEND_ACTION", "inputSchema": {schema}}}'
    variables = f'{{"projectId": "{project_id}", "input": {new_tool}}}'

    response = await client.http.post(
        "/graphql",
        content=f'{{"query": {json.dumps(CREATE)}, "variables": {variables}}}',
        headers={"content-type": "application/json"},
    )

    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "BAD_REQUEST"}
    assert f"{constant.lstrip('-')} is not JSON" in error["message"]
    assert await stored_items(store, user_id) == []
    assert unexpected_errors(caplog) == []


async def stored_tool(store: Store, user_id: str, tool_id: str) -> dict[str, Any]:
    item: dict[str, Any] | None = await store.dynamo.get_item(
        store.tables.tools, {"userId": user_id, "toolId": tool_id}, consistent=True
    )
    assert item is not None
    return item


@pytest.mark.parametrize(
    ("literal", "message"),
    [
        ("1e308", "(1E+308 at /maximum)"),
        ("1" + "0" * 400, "(1E+400 at /maximum)"),
        ("1e400", "numbers must be finite (Infinity at /maximum)"),
    ],
    ids=["1e308", "10**400", "1e400"],
)
async def test_numbers_dynamodb_cannot_store_are_bad_user_input_in_literals(
    client: GraphQLClient,
    store: Store,
    user_id: str,
    caplog: pytest.LogCaptureFixture,
    literal: str,
    message: str,
) -> None:
    project_id = await create_project(client)
    query = f"""
    mutation Literal($projectId: ID!) {{
      createTool(projectId: $projectId, input: {{
        name: "t", type: FRONTEND_ACTION, inputSchema: {{type: "object", maximum: {literal}}}
      }}) {{ id }}
    }}
    """

    error = await client.error(query, {"projectId": project_id})

    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "inputSchema"}
    assert message in error["message"]
    assert await stored_items(store, user_id) == []
    assert unexpected_errors(caplog) == []


def nested_schema(depth: int) -> dict[str, Any]:
    """An object schema of `depth` levels of objects, itself included."""
    schema: dict[str, Any] = {"type": "object"}
    for _ in range(depth - 1):
        schema = {"type": "object", "properties": {"a": schema}}
    return schema


@pytest.mark.parametrize("depth", [29, 100])
async def test_a_schema_nested_deeper_than_a_snapshot_holds_is_bad_user_input(
    client: GraphQLClient,
    store: Store,
    user_id: str,
    caplog: pytest.LogCaptureFixture,
    depth: int,
) -> None:
    project_id = await create_project(client)
    schema = nested_schema((depth + 1) // 2)  # two levels a step: the schema, `properties`
    levels = 2 * ((depth + 1) // 2) - 1

    error = await client.error(
        CREATE, {"projectId": project_id, "input": action(inputSchema=schema)}
    )

    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "inputSchema"}
    assert error["message"] == (
        f"inputSchema: nests {levels} levels deep; at most 28 fit in a deployment snapshot"
    )
    assert await stored_items(store, user_id) == []
    assert unexpected_errors(caplog) == []


async def test_variables_nested_past_the_request_limit_are_refused_before_anything_runs(
    client: GraphQLClient, store: Store, user_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    project_id = await create_project(client)
    schema = nested_schema(450)  # 899 levels: past MAX_JSON_DEPTH, the whole request's bound

    response = await client.http.post(
        "/graphql",
        json={
            "query": CREATE,
            "variables": {"projectId": project_id, "input": action(inputSchema=schema)},
        },
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"] == {"code": "BAD_REQUEST"}
    assert f"nested deeper than {MAX_JSON_DEPTH}" in response.json()["errors"][0]["message"]
    assert await stored_items(store, user_id) == []
    assert unexpected_errors(caplog) == []


async def test_a_literal_nested_10000_levels_is_refused_by_the_parser_without_a_traceback(
    client: GraphQLClient, store: Store, user_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    project_id = await create_project(client)
    literal = '{type: "object", items: ' * 10_000 + "{}" + "}" * 10_000
    tool = f'{{name: "t", type: FRONTEND_ACTION, inputSchema: {literal}}}'
    query = f"""
    mutation Deep($projectId: ID!) {{ createTool(projectId: $projectId, input: {tool}) {{ id }} }}
    """

    error = await client.error(query, {"projectId": project_id})

    assert error["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    assert await stored_items(store, user_id) == []
    assert unexpected_errors(caplog) == []


async def test_the_largest_and_smallest_numbers_dynamodb_stores_survive_a_round_trip(
    client: GraphQLClient,
) -> None:
    project_id = await create_project(client)
    largest = int("9" * 38) * 10**88  # 9.9999999999999999999999999999999999999E+125
    extremes = [largest, -largest, 1e-130, -1e-130, int("1" * 38), 0]
    schema = {"type": "object", "properties": {"n": {"type": "number", "examples": extremes}}}

    created = await create(client, project_id, action(inputSchema=schema))
    fetched = await get(client, created["id"])

    assert fetched is not None
    assert created["inputSchema"] == fetched["inputSchema"] == schema


async def test_a_schema_at_the_nesting_limit_is_accepted(client: GraphQLClient) -> None:
    project_id = await create_project(client)
    schema = nested_schema(14)  # 27 levels
    deepest = {"type": "object", "additionalProperties": schema}  # 28

    created = await create(client, project_id, action(inputSchema=deepest))

    assert created["inputSchema"] == deepest


@pytest.mark.parametrize("text", UNPRINTABLE_TEXT.values(), ids=UNPRINTABLE_TEXT.keys())
async def test_code_and_descriptions_with_control_characters_or_bidi_overrides_are_refused(
    client: GraphQLClient, store: Store, user_id: str, text: str
) -> None:
    project_id = await create_project(client)

    errors = [
        await client.error(CREATE, {"projectId": project_id, "input": code_tool(code=text)}),
        await client.error(CREATE, {"projectId": project_id, "input": action(description=text)}),
    ]

    assert [error["extensions"] for error in errors] == [
        {"code": "BAD_USER_INPUT", "field": "code"},
        {"code": "BAD_USER_INPUT", "field": "description"},
    ]
    assert await stored_items(store, user_id) == []


async def test_code_keeps_tabs_line_breaks_and_ordinary_unicode(client: GraphQLClient) -> None:
    project_id = await create_project(client)

    tool = await create(
        client, project_id, code_tool(code=ORDINARY_TEXT, description=ORDINARY_TEXT)
    )

    assert (tool["code"], tool["description"]) == (ORDINARY_TEXT, ORDINARY_TEXT)


async def test_a_project_at_its_tool_quota_is_refused_another_and_its_name_stays_free(
    client: GraphQLClient, store: Store, user_id: str, lower_quotas: Callable[..., None]
) -> None:
    # given a project holding as many tools as a project may
    lower_quotas(TOOLS_PER_PROJECT=2)
    project_id = await create_project(client)
    kept = [(await create(client, project_id, action(f"kept-{n}")))["id"] for n in range(2)]

    # when one more is created
    error = await client.error(CREATE, {"projectId": project_id, "input": action("refused")})

    # then it is QUOTA_EXCEEDED, and neither the tool nor its name reservation was written
    assert error["extensions"] == {
        "code": "QUOTA_EXCEEDED",
        "quota": "TOOLS_PER_PROJECT",
        "limit": 2,
    }
    assert error["message"] == "a project holds at most 2 tools (TOOLS_PER_PROJECT)"
    assert (await project_tools(client, project_id))["toolIds"] == kept
    assert {item["toolId"] for item in await stored_items(store, user_id)} == {
        *kept,
        "name#kept-0",
        "name#kept-1",
    }
    other = await create_project(client, "Other")
    assert (await create(client, other, action("refused")))["name"] == "refused"


async def test_an_account_at_its_tool_quota_is_refused_another_in_any_project(
    client: GraphQLClient, store: Store, user_id: str, lower_quotas: Callable[..., None]
) -> None:
    # given an account whose two projects hold as many tools as an account may
    lower_quotas(TOOLS_PER_USER=2)
    first, second = await create_project(client, "First"), await create_project(client, "Second")
    await create(client, first, action("one"))
    await create(client, second, action("two"))

    # when a third is created
    error = await client.error(CREATE, {"projectId": first, "input": action("three")})

    # then the account's quota refuses it
    assert error["extensions"]["quota"] == "TOOLS_PER_USER"
    assert len(await stored_tools(store, user_id)) == 2


async def test_deleting_a_tool_frees_a_slot_under_the_tool_quota(
    client: GraphQLClient, lower_quotas: Callable[..., None]
) -> None:
    # given a project at its tool quota
    lower_quotas(TOOLS_PER_PROJECT=1)
    project_id = await create_project(client)
    tool = await create(client, project_id, action("first"))

    # when the tool is deleted
    await client.data(DELETE_TOOL, {"id": tool["id"]})

    # then another can be created in its place, and then no more
    second = await create(client, project_id, action("second"))
    assert (await project_tools(client, project_id))["toolIds"] == [second["id"]]
    refused = await client.error(CREATE, {"projectId": project_id, "input": action("third")})
    assert refused["extensions"]["code"] == "QUOTA_EXCEEDED"
