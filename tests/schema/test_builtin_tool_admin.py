"""Built-in tools as admins curate them: upsert, (de)activate, and who may do either."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from starlette.types import ASGIApp

from server.store import Store
from tests.conftest import GraphQLClient

TOOL_FIELDS = "name description type inputSchema category isActive"
UPSERT = f"""
mutation Upsert($input: BuiltinToolInput!) {{
  upsertBuiltinTool(input: $input) {{ {TOOL_FIELDS} }}
}}
"""
SET_ACTIVE = f"""
mutation SetActive($name: String!, $isActive: Boolean!) {{
  setBuiltinToolActive(name: $name, isActive: $isActive) {{ {TOOL_FIELDS} }}
}}
"""
LIST = f"""
query List($category: String, $all: Boolean! = false) {{
  builtinTools(category: $category, includeInactive: $all) {{ {TOOL_FIELDS} }}
}}
"""
GET = f"query Get($name: String!) {{ builtinTool(name: $name) {{ {TOOL_FIELDS} }} }}"

SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string", "description": "City name"}},
    "required": ["city"],
}


def unique(prefix: str) -> str:
    """A name no other test uses: the catalog table is shared by every test."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def tool_input(name: str, category: str, **overrides: Any) -> dict[str, Any]:
    return {
        "name": name,
        "description": "Looks up the weather",
        "type": "http",
        "inputSchema": SCHEMA,
        "category": category,
        **overrides,
    }


@pytest.fixture
async def admin(app: ASGIApp) -> AsyncIterator[GraphQLClient]:
    async with GraphQLClient.for_app(app, unique("catalog-admin"), groups="admin") as admin:
        yield admin


@pytest.fixture
async def developer(app: ASGIApp) -> AsyncIterator[GraphQLClient]:
    """A signed-in user with groups, none of them the admin group."""
    async with GraphQLClient.for_app(app, unique("dev"), groups="developers,admins") as developer:
        yield developer


async def upsert(admin: GraphQLClient, tool: dict[str, Any]) -> dict[str, Any]:
    upserted: dict[str, Any] = (await admin.data(UPSERT, {"input": tool}))["upsertBuiltinTool"]
    return upserted


async def get(client: GraphQLClient, name: str) -> dict[str, Any] | None:
    tool: dict[str, Any] | None = (await client.data(GET, {"name": name}))["builtinTool"]
    return tool


async def listed(
    client: GraphQLClient, category: str | None = None, *, include_inactive: bool = False
) -> list[dict[str, Any]]:
    variables = {"category": category, "all": include_inactive}
    tools: list[dict[str, Any]] = (await client.data(LIST, variables))["builtinTools"]
    return tools


async def test_an_admin_upserts_a_new_tool_that_every_user_then_sees(
    admin: GraphQLClient, client: GraphQLClient
) -> None:
    # given
    name, category = unique("weather"), unique("cat")

    # when
    created = await upsert(admin, tool_input(name, category))

    # then
    expected = {
        "name": name,
        "description": "Looks up the weather",
        "type": "http",
        "inputSchema": SCHEMA,
        "category": category,
        "isActive": True,
    }
    assert created == expected
    assert await get(client, name) == expected
    assert await listed(client, category) == [expected]
    assert expected in await listed(client)


async def test_upserting_an_existing_name_replaces_the_tool(
    admin: GraphQLClient, client: GraphQLClient
) -> None:
    name, old_category, new_category = unique("replace"), unique("cat"), unique("cat")
    await upsert(admin, tool_input(name, old_category))
    new_schema = {"type": "object", "properties": {"n": {"type": "integer"}}}

    replaced = await upsert(
        admin,
        tool_input(name, new_category, description="Counts", type="math", inputSchema=new_schema),
    )

    assert replaced == {
        "name": name,
        "description": "Counts",
        "type": "math",
        "inputSchema": new_schema,
        "category": new_category,
        "isActive": True,
    }
    assert await get(client, name) == replaced
    assert await listed(client, old_category, include_inactive=True) == []
    assert await listed(client, new_category, include_inactive=True) == [replaced]


async def test_an_admin_can_upsert_a_tool_that_starts_inactive(
    admin: GraphQLClient, client: GraphQLClient
) -> None:
    name, category = unique("dormant"), unique("cat")

    created = await upsert(admin, tool_input(name, category, isActive=False))

    assert created["isActive"] is False
    assert await listed(client, category) == []
    assert await listed(client, category, include_inactive=True) == [created]


async def test_a_non_admin_cannot_upsert_a_tool_and_nothing_is_written(
    admin: GraphQLClient, client: GraphQLClient, developer: GraphQLClient
) -> None:
    new_name, category = unique("forbidden"), unique("cat")
    existing = await upsert(admin, tool_input(unique("kept"), category))

    errors = [
        await caller.error(UPSERT, {"input": tool})
        for caller in (client, developer)
        for tool in (
            tool_input(new_name, category),
            tool_input(existing["name"], category, description="Hijacked", isActive=False),
        )
    ]

    assert [error["extensions"]["code"] for error in errors] == ["FORBIDDEN"] * 4
    assert await get(admin, new_name) is None
    assert await get(admin, existing["name"]) == existing
    assert await listed(admin, category, include_inactive=True) == [existing]


async def test_a_non_admin_cannot_change_whether_a_tool_is_active(
    admin: GraphQLClient, client: GraphQLClient, developer: GraphQLClient
) -> None:
    active = await upsert(admin, tool_input(unique("on"), unique("cat")))
    inactive = await upsert(admin, tool_input(unique("off"), unique("cat"), isActive=False))

    errors = [
        await caller.error(SET_ACTIVE, {"name": tool["name"], "isActive": not tool["isActive"]})
        for caller in (client, developer)
        for tool in (active, inactive)
    ]

    assert [error["extensions"]["code"] for error in errors] == ["FORBIDDEN"] * 4
    assert await get(admin, active["name"]) == active
    assert await get(admin, inactive["name"]) == inactive


@pytest.mark.parametrize(
    "name",
    ["", "has space", "x" * 65, "dotted.name", "slash/name", "ünïcode", "emoji-🔧", "tab\tname"],
)
async def test_upsert_refuses_a_name_that_is_not_a_tool_spec_name(
    admin: GraphQLClient, name: str
) -> None:
    category = unique("cat")

    error = await admin.error(UPSERT, {"input": tool_input(name, category)})

    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "name"}
    assert await listed(admin, category, include_inactive=True) == []


async def test_upsert_accepts_names_at_the_limits(admin: GraphQLClient) -> None:
    longest = ("Ab_9-" + uuid.uuid4().hex)[:64].ljust(64, "z")
    shortest = "Q"

    for name in (longest, shortest):
        created = await upsert(admin, tool_input(name, unique("cat")))
        assert created["name"] == name


@pytest.mark.parametrize(
    "input_schema",
    [
        {"type": "string"},
        {"properties": {"a": {"type": "string"}}},
        {"type": ["object", "null"]},
        {"type": "object", "properties": 5},
        {"type": "object", "required": "city"},
        {"type": "object", "properties": {"a": {"type": "no-such-type"}}},
        {"type": "object", "minProperties": -1},
        ["type", "object"],
        "object",
        42,
    ],
    ids=lambda value: repr(value)[:40],
)
async def test_upsert_refuses_an_input_schema_that_is_not_a_valid_object_json_schema(
    admin: GraphQLClient, input_schema: Any
) -> None:
    name, category = unique("bad-schema"), unique("cat")

    error = await admin.error(
        UPSERT, {"input": tool_input(name, category, inputSchema=input_schema)}
    )

    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "inputSchema"}
    assert await get(admin, name) is None


def nested_schema(depth: int) -> dict[str, Any]:
    """An object schema of `depth` levels of objects, itself included."""
    schema: dict[str, Any] = {"type": "object"}
    for _ in range(depth - 1):
        schema = {"type": "object", "additionalProperties": schema}
    return schema


@pytest.mark.parametrize(
    ("input_schema", "message"),
    [
        ({"type": "object", "maxProperties": 1e308}, "(1E+308 at /maxProperties)"),
        ({"type": "object", "maxProperties": 10**400}, "(1E+400 at /maxProperties)"),
        (nested_schema(29), "nests 29 levels deep; at most 28 fit in a deployment snapshot"),
        (nested_schema(100), "nests 100 levels deep; at most 28 fit in a deployment snapshot"),
    ],
    ids=["1e308", "10**400", "29 levels", "100 levels"],
)
async def test_upsert_refuses_an_input_schema_dynamodb_could_not_store(
    admin: GraphQLClient,
    caplog: pytest.LogCaptureFixture,
    input_schema: dict[str, Any],
    message: str,
) -> None:
    name, category = unique("unstorable"), unique("cat")

    error = await admin.error(
        UPSERT, {"input": tool_input(name, category, inputSchema=input_schema)}
    )

    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "inputSchema"}
    assert error["message"].startswith("inputSchema: ")
    assert message in error["message"]
    assert await get(admin, name) is None
    assert [record for record in caplog.records if record.name == "server.errors"] == []


@pytest.mark.parametrize(
    "label",
    ["nul\x00", "\x1b[31mred", "\u202eevil", "\u200b\u200b", "\u00ad", "del\x7f", "c1\x9b", " \t "],
    ids=["NUL", "ESC", "U+202E", "zero-width", "soft hyphen", "DEL", "C1", "blank"],
)
async def test_upsert_refuses_type_and_category_labels_with_control_or_format_characters(
    admin: GraphQLClient, label: str
) -> None:
    name = unique("labelled")

    errors = [
        await admin.error(UPSERT, {"input": tool_input(name, unique("cat"), type=label)}),
        await admin.error(UPSERT, {"input": tool_input(name, label)}),
    ]

    assert [error["extensions"] for error in errors] == [
        {"code": "BAD_USER_INPUT", "field": "type"},
        {"code": "BAD_USER_INPUT", "field": "category"},
    ]
    assert await get(admin, name) is None


async def test_upsert_accepts_ordinary_unicode_labels(admin: GraphQLClient) -> None:
    category = unique("Météo ☁️ 天气")

    created = await upsert(admin, tool_input(unique("weather"), category, type="requête 🌦"))

    assert (created["category"], created["type"]) == (category, "requête 🌦")


async def test_set_active_of_an_unknown_name_is_not_found_and_creates_nothing(
    admin: GraphQLClient,
) -> None:
    missing = unique("missing")

    errors = [
        await admin.error(SET_ACTIVE, {"name": name, "isActive": active})
        for name in (missing, "x" * 65, "")
        for active in (True, False)
    ]

    assert [error["extensions"]["code"] for error in errors] == ["NOT_FOUND"] * 6
    assert await get(admin, missing) is None


async def test_an_inactive_tool_leaves_the_list_but_shows_with_include_inactive(
    admin: GraphQLClient, client: GraphQLClient
) -> None:
    category = unique("cat")
    staying = await upsert(admin, tool_input(unique("a-staying"), category))
    leaving = await upsert(admin, tool_input(unique("b-leaving"), category))

    deactivated = (await admin.data(SET_ACTIVE, {"name": leaving["name"], "isActive": False}))[
        "setBuiltinToolActive"
    ]

    assert deactivated == {**leaving, "isActive": False}
    assert await listed(client, category) == [staying]
    assert await listed(client, category, include_inactive=True) == [staying, deactivated]
    assert deactivated not in await listed(client)
    assert deactivated in await listed(client, include_inactive=True)
    assert await get(client, leaving["name"]) == deactivated


async def test_a_reactivated_tool_is_listed_again(
    admin: GraphQLClient, client: GraphQLClient
) -> None:
    category = unique("cat")
    tool = await upsert(admin, tool_input(unique("back"), category, isActive=False))

    reactivated = (await admin.data(SET_ACTIVE, {"name": tool["name"], "isActive": True}))[
        "setBuiltinToolActive"
    ]

    assert reactivated == {**tool, "isActive": True}
    assert await listed(client, category) == [reactivated]


async def test_builtin_tools_filter_by_category(
    admin: GraphQLClient, client: GraphQLClient
) -> None:
    maps, mail = unique("maps"), unique("mail")
    route = await upsert(admin, tool_input(unique("route"), maps))
    geocode = await upsert(admin, tool_input(unique("geocode"), maps))
    send = await upsert(admin, tool_input(unique("send"), mail))

    in_maps = await listed(client, maps)
    in_mail = await listed(client, mail)
    in_nothing = await listed(client, unique("empty"))
    everything = await listed(client)

    assert in_maps == sorted([route, geocode], key=lambda tool: tool["name"])
    assert in_mail == [send]
    assert in_nothing == []
    assert all(tool in everything for tool in (route, geocode, send))
    assert {"calculator", "web-search"} <= {tool["name"] for tool in everything}


async def test_a_new_name_past_the_catalog_quota_is_refused_while_existing_ones_are_replaced(
    admin: GraphQLClient, client: GraphQLClient, store: Store, lower_quotas: Callable[..., None]
) -> None:
    # given a catalog one short of its quota
    catalog = [item async for item in store.dynamo.scan(store.tables.builtin_tools)]
    lower_quotas(BUILTIN_TOOLS=len(catalog) + 1)
    last, category = unique("last"), unique("cat")
    await upsert(admin, tool_input(last, category))

    # when an admin upserts a new name, and then the last one again
    refused = await admin.error(UPSERT, {"input": tool_input(unique("refused"), category)})
    replaced = await upsert(admin, tool_input(last, category, description="Replaced"))

    # then the new name is QUOTA_EXCEEDED and not written; the replacement is no create
    assert refused["extensions"] == {
        "code": "QUOTA_EXCEEDED",
        "quota": "BUILTIN_TOOLS",
        "limit": len(catalog) + 1,
    }
    assert replaced["description"] == "Replaced"
    assert [tool["name"] for tool in await listed(client, category)] == [last]
