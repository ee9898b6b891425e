"""Agents over GraphQL: create, get, update with versions, delete, their input rules, their
place in the project's agentIds, and the tools and built-in tools they use."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from starlette.types import ASGIApp

from server import quotas
from server.store import Store
from server.store.dynamo import Expression
from tests.conftest import GraphQLClient
from tests.documents import (
    AGENT_FIELDS,
    CREATE_PROJECT,
    CREATE_TOOL,
    DELETE_AGENT,
    SET_BUILTIN_TOOL_ACTIVE,
    UPSERT_BUILTIN_TOOL,
)
from tests.text_cases import ORDINARY_NAMES, ORDINARY_TEXT, UNPRINTABLE_NAMES, UNPRINTABLE_TEXT

CREATE = f"""
mutation Create($projectId: ID!, $input: AgentInput!) {{
  createAgent(projectId: $projectId, input: $input) {{ {AGENT_FIELDS} }}
}}
"""
UPDATE = f"""
mutation Update($id: ID!, $input: UpdateAgentInput!) {{
  updateAgent(id: $id, input: $input) {{ {AGENT_FIELDS} }}
}}
"""
GET = f"query Get($id: ID!) {{ agent(id: $id) {{ {AGENT_FIELDS} }} }}"
NESTED = """
query Nested($id: ID!) {
  agent(id: $id) {
    project { id name agentIds }
    tools { id name }
    builtinTools { name isActive }
  }
}
"""
PROJECT = """
query Project($id: ID!) { project(id: $id) { agentIds agents { id name } } }
"""

MODEL = {"region": "us-east-1", "modelId": "anthropic.claude-3-sonnet-20240229-v1:0"}
UNKNOWN_ID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def agent_input(name: str = "Researcher", **fields: Any) -> dict[str, Any]:
    return {"name": name, "systemPrompt": "You research.", "model": MODEL, **fields}


async def create_project(client: GraphQLClient, name: str = "Agents home") -> str:
    data = await client.data(CREATE_PROJECT, {"input": {"name": name}})
    project_id: str = data["createProject"]["id"]
    return project_id


async def create_tool(client: GraphQLClient, project_id: str, name: str) -> str:
    tool = {"name": name, "type": "FRONTEND_ACTION", "inputSchema": {"type": "object"}}
    data = await client.data(CREATE_TOOL, {"projectId": project_id, "input": tool})
    tool_id: str = data["createTool"]["id"]
    return tool_id


async def create(client: GraphQLClient, project_id: str, **fields: Any) -> dict[str, Any]:
    data = await client.data(CREATE, {"projectId": project_id, "input": agent_input(**fields)})
    agent: dict[str, Any] = data["createAgent"]
    return agent


async def get(client: GraphQLClient, agent_id: str) -> dict[str, Any] | None:
    agent: dict[str, Any] | None = (await client.data(GET, {"id": agent_id}))["agent"]
    return agent


async def agent_ids(client: GraphQLClient, project_id: str) -> list[str]:
    ids: list[str] = (await client.data(PROJECT, {"id": project_id}))["project"]["agentIds"]
    return ids


async def stored_agents(store: Store, user_id: str) -> list[dict[str, Any]]:
    """Every item of the user's partition of the Agents table."""
    key = Expression("userId = :user", values={":user": user_id})
    return [item async for item in store.dynamo.query(store.tables.agents, key, consistent=True)]


async def new_builtin_tool(app: ASGIApp, *, active: bool) -> str:
    """A built-in tool of this test's own, so that other tests never see it change."""
    name = f"zz-agent-test-{uuid.uuid4().hex[:12]}"
    spec = {
        "name": name,
        "description": "Exists for one test",
        "type": "utility",
        "inputSchema": {"type": "object"},
        "category": "agent-tests",
    }
    async with GraphQLClient.for_app(app, "catalog-admin", groups="admin") as admin:
        await admin.data(UPSERT_BUILTIN_TOOL, {"input": spec})
        if not active:
            data = await admin.data(SET_BUILTIN_TOOL_ACTIVE, {"name": name, "isActive": False})
            assert data["setBuiltinToolActive"] == {"name": name, "isActive": False}
    return name


async def test_a_new_agent_echoes_its_input_at_version_1(client: GraphQLClient) -> None:
    project_id = await create_project(client)

    agent = await create(
        client,
        project_id,
        name="  Researcher  ",
        description="Finds things",
        builtinToolNames=["web-search", "calculator"],
    )

    assert ULID.match(agent["id"])
    assert agent["projectId"] == project_id
    assert agent["name"] == "Researcher"
    assert agent["description"] == "Finds things"
    assert agent["type"] == "AGENT_TOOL"
    assert agent["systemPrompt"] == "You research."
    assert agent["toolNames"] == []
    assert agent["builtinToolNames"] == ["web-search", "calculator"]
    assert agent["model"] == MODEL
    assert agent["version"] == 1
    assert TIMESTAMP.match(agent["createdAt"])
    assert agent["createdAt"] == agent["updatedAt"]
    assert await get(client, agent["id"]) == agent
    assert await agent_ids(client, project_id) == [agent["id"]]


async def test_an_agent_is_stored_as_the_seed_describes(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    project_id = await create_project(client)
    tool_id = await create_tool(client, project_id, "lookup-order")
    agent = await create(
        client,
        project_id,
        name="Support",
        description="Answers customers",
        toolNames=["lookup-order"],
        builtinToolNames=["calculator"],
    )

    item = await store.dynamo.get_item(
        store.tables.agents, {"userId": user_id, "agentId": agent["id"]}, consistent=True
    )

    config = {
        "name": "Support",
        "description": "Answers customers",
        "type": "agent_tool",
        "system_prompt": "You research.",
        "tools": ["lookup-order"],
        "builtin_tools": ["calculator"],
        "model": {"region": "us-east-1", "model_id": MODEL["modelId"]},
    }
    assert item == {
        "userId": user_id,
        "agentId": agent["id"],
        "projectId": project_id,
        "name": "Support",
        "config": config,
        "createdAt": agent["createdAt"],
        "updatedAt": agent["updatedAt"],
        "version": 1,
        "toolIds": [tool_id],  # beyond the seed: the ids of the tools named, in order
    }
    assert agent["config"] == config


async def test_agent_by_id_is_null_for_unknown_and_malformed_ids(client: GraphQLClient) -> None:
    assert await get(client, UNKNOWN_ID) is None
    assert await get(client, "not a key / ##") is None
    assert await get(client, "") is None


async def test_update_changes_given_fields_and_bumps_the_version_each_time(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    project_id = await create_project(client)
    agent = await create(client, project_id, description="Kept")

    first = (await client.data(UPDATE, {"id": agent["id"], "input": {"name": "Renamed"}}))[
        "updateAgent"
    ]
    second = (
        await client.data(
            UPDATE,
            {
                "id": agent["id"],
                "input": {
                    "systemPrompt": "Be brief.",
                    "builtinToolNames": ["calculator"],
                    "model": {"region": "eu-west-1", "modelId": "amazon.nova-pro-v1:0"},
                    "expectedVersion": 2,
                },
            },
        )
    )["updateAgent"]

    assert (first["name"], first["description"], first["version"]) == ("Renamed", "Kept", 2)
    assert second["version"] == 3
    assert second["name"] == "Renamed"
    assert second["systemPrompt"] == "Be brief."
    assert second["builtinToolNames"] == ["calculator"]
    assert second["model"] == {"region": "eu-west-1", "modelId": "amazon.nova-pro-v1:0"}
    assert second["createdAt"] == agent["createdAt"]
    assert second["updatedAt"] >= agent["updatedAt"]
    assert await get(client, agent["id"]) == second
    item = await store.dynamo.get_item(
        store.tables.agents, {"userId": user_id, "agentId": agent["id"]}, consistent=True
    )
    assert item is not None
    assert (item["name"], item["version"]) == ("Renamed", 3)
    assert item["config"] == {
        "name": "Renamed",
        "description": "Kept",
        "type": "agent_tool",
        "system_prompt": "Be brief.",
        "tools": [],
        "builtin_tools": ["calculator"],
        "model": {"region": "eu-west-1", "model_id": "amazon.nova-pro-v1:0"},
    }


async def test_update_with_a_stale_version_conflicts_and_changes_nothing(
    client: GraphQLClient,
) -> None:
    project_id = await create_project(client)
    agent = await create(client, project_id)
    winner = (await client.data(UPDATE, {"id": agent["id"], "input": {"name": "Winner"}}))[
        "updateAgent"
    ]

    error = await client.error(
        UPDATE,
        {"id": agent["id"], "input": {"name": "Loser", "systemPrompt": "x", "expectedVersion": 1}},
    )

    assert error["extensions"]["code"] == "CONFLICT"
    assert await get(client, agent["id"]) == winner


async def test_concurrent_updates_at_one_version_let_exactly_one_win(
    client: GraphQLClient,
) -> None:
    project_id = await create_project(client)
    agent = await create(client, project_id)

    results = await asyncio.gather(
        *(
            client.execute(
                UPDATE, {"id": agent["id"], "input": {"name": f"n{i}", "expectedVersion": 1}}
            )
            for i in range(6)
        )
    )

    winners = [result["data"]["updateAgent"] for result in results if "errors" not in result]
    losers = [result["errors"][0]["extensions"]["code"] for result in results if "errors" in result]
    assert len(winners) == 1
    assert losers == ["CONFLICT"] * 5
    assert await get(client, agent["id"]) == winners[0]


async def test_delete_removes_the_agent_and_its_id_from_agent_ids(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    project_id = await create_project(client)
    kept = await create(client, project_id, name="Kept")
    doomed = await create(client, project_id, name="Doomed")

    data = await client.data(DELETE_AGENT, {"id": doomed["id"]})
    again = await client.error(DELETE_AGENT, {"id": doomed["id"]})

    assert data["deleteAgent"] == doomed["id"]
    assert again["extensions"]["code"] == "NOT_FOUND"
    assert await get(client, doomed["id"]) is None
    assert await agent_ids(client, project_id) == [kept["id"]]
    assert [item["agentId"] for item in await stored_agents(store, user_id)] == [kept["id"]]


async def test_updating_or_deleting_an_unknown_agent_is_not_found(client: GraphQLClient) -> None:
    for document, variables in (
        (UPDATE, {"id": UNKNOWN_ID, "input": {"name": "x"}}),
        (UPDATE, {"id": UNKNOWN_ID, "input": {}}),
        (UPDATE, {"id": "not a key / ##", "input": {"name": "x"}}),
        (DELETE_AGENT, {"id": UNKNOWN_ID}),
        (DELETE_AGENT, {"id": ""}),
    ):
        error = await client.error(document, variables)
        assert error["extensions"]["code"] == "NOT_FOUND", (document, variables)


async def test_creating_an_agent_in_an_unknown_project_is_not_found_and_writes_nothing(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    for project_id in (UNKNOWN_ID, "not a key / ##"):
        error = await client.error(CREATE, {"projectId": project_id, "input": agent_input()})
        assert error["extensions"]["code"] == "NOT_FOUND", project_id

    assert await stored_agents(store, user_id) == []


async def test_invalid_agent_inputs_are_bad_user_input_and_write_nothing(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    project_id = await create_project(client)
    cases: list[tuple[dict[str, Any], str]] = [
        (agent_input(name="   "), "name"),
        (agent_input(name=""), "name"),
        (agent_input(name="n" * 129), "name"),
        (agent_input(description="d" * 4001), "description"),
        (agent_input(systemPrompt=""), "systemPrompt"),
        (agent_input(systemPrompt="p" * 100_001), "systemPrompt"),
        (agent_input(model={**MODEL, "region": "US-EAST-1"}), "model.region"),
        (agent_input(model={**MODEL, "region": "useast1"}), "model.region"),
        (agent_input(model={**MODEL, "region": ""}), "model.region"),
        (agent_input(model={**MODEL, "region": "us-east-1 "}), "model.region"),
        (agent_input(model={**MODEL, "region": "us-east-1\n"}), "model.region"),
        (agent_input(model={**MODEL, "modelId": ""}), "model.modelId"),
        (agent_input(model={**MODEL, "modelId": "m" * 257}), "model.modelId"),
        (agent_input(model={**MODEL, "modelId": "claude sonnet"}), "model.modelId"),
        (agent_input(model={**MODEL, "modelId": "claude;drop"}), "model.modelId"),
        (agent_input(toolNames=["no-such-tool"]), "toolNames"),
        (agent_input(builtinToolNames=["calculator", "calculator"]), "builtinToolNames"),
        (agent_input(builtinToolNames=["no-such-builtin"]), "builtinToolNames"),
    ]

    for agent, field in cases:
        error = await client.error(CREATE, {"projectId": project_id, "input": agent})
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}, (field, agent)

    assert await agent_ids(client, project_id) == []
    assert await stored_agents(store, user_id) == []


async def test_invalid_agent_updates_are_bad_user_input_and_change_nothing(
    client: GraphQLClient,
) -> None:
    project_id = await create_project(client)
    agent = await create(client, project_id)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"name": "  "}, "name"),
        ({"name": "n" * 129}, "name"),
        ({"description": "d" * 4001}, "description"),
        ({"systemPrompt": ""}, "systemPrompt"),
        ({"systemPrompt": "p" * 100_001}, "systemPrompt"),
        ({"model": {**MODEL, "region": "moon-base-1"}}, "model.region"),
        ({"model": {**MODEL, "modelId": "bad model id"}}, "model.modelId"),
        ({"toolNames": ["no-such-tool"]}, "toolNames"),
        ({"builtinToolNames": ["web-search", "web-search"]}, "builtinToolNames"),
        ({"builtinToolNames": ["no-such-builtin"]}, "builtinToolNames"),
    ]

    for patch, field in cases:
        error = await client.error(UPDATE, {"id": agent["id"], "input": patch})
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}, (field, patch)

    assert await get(client, agent["id"]) == agent


async def test_values_at_the_limits_are_accepted(client: GraphQLClient) -> None:
    project_id = await create_project(client)
    model = {"region": "us-gov-west-1", "modelId": "a" * 256}

    agent = await create(
        client,
        project_id,
        name="n" * 128,
        description="d" * 4000,
        systemPrompt="p" * 100_000,
        model=model,
    )
    other = await create(
        client,
        project_id,
        name="x",
        systemPrompt="p",
        model={"region": "ap-southeast-2", "modelId": "us.anthropic.claude:0/x_y-z"},
    )

    assert (len(agent["name"]), len(agent["description"])) == (128, 4000)
    assert len(agent["systemPrompt"]) == 100_000
    assert agent["model"] == model
    assert other["model"]["modelId"] == "us.anthropic.claude:0/x_y-z"


async def test_tool_names_must_be_distinct_tools_of_the_agents_own_project(
    client: GraphQLClient,
) -> None:
    project_id = await create_project(client, "Home")
    elsewhere = await create_project(client, "Elsewhere")
    await create_tool(client, project_id, "local-tool")
    await create_tool(client, elsewhere, "foreign-tool")
    agent = await create(client, project_id, toolNames=["local-tool"])

    foreign = await client.error(
        CREATE, {"projectId": project_id, "input": agent_input(toolNames=["foreign-tool"])}
    )
    repeated = await client.error(
        CREATE,
        {"projectId": project_id, "input": agent_input(toolNames=["local-tool", "local-tool"])},
    )
    foreign_update = await client.error(
        UPDATE, {"id": agent["id"], "input": {"toolNames": ["local-tool", "foreign-tool"]}}
    )

    for error in (foreign, repeated, foreign_update):
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "toolNames"}
    assert "foreign-tool" in foreign["message"]
    assert await agent_ids(client, project_id) == [agent["id"]]
    assert await get(client, agent["id"]) == agent


async def test_builtin_tool_names_must_name_active_builtin_tools(
    client: GraphQLClient, app: ASGIApp
) -> None:
    project_id = await create_project(client)
    active = await new_builtin_tool(app, active=True)
    inactive = await new_builtin_tool(app, active=False)
    agent = await create(client, project_id, builtinToolNames=[active])

    refused = await client.error(
        CREATE, {"projectId": project_id, "input": agent_input(builtinToolNames=[inactive])}
    )
    refused_update = await client.error(
        UPDATE, {"id": agent["id"], "input": {"builtinToolNames": [active, inactive]}}
    )

    for error in (refused, refused_update):
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "builtinToolNames"}
        assert inactive in error["message"]
    assert agent["builtinToolNames"] == [active]
    assert await agent_ids(client, project_id) == [agent["id"]]
    assert await get(client, agent["id"]) == agent


async def test_thirty_concurrent_creates_each_list_their_agent_exactly_once(
    client: GraphQLClient,
) -> None:
    project_id = await create_project(client)

    results = await asyncio.gather(
        *(create(client, project_id, name=f"agent-{i}") for i in range(30))
    )

    ids = await agent_ids(client, project_id)
    assert len(ids) == 30
    assert sorted(ids) == sorted(agent["id"] for agent in results)


async def test_concurrent_deletes_and_creates_keep_agent_ids_equal_to_the_agents(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    project_id = await create_project(client)
    first = [await create(client, project_id, name=f"old-{i}") for i in range(10)]
    doomed = first[::2]

    deletions = [client.data(DELETE_AGENT, {"id": agent["id"]}) for agent in doomed]
    creations = [create(client, project_id, name=f"new-{i}") for i in range(10)]
    results = await asyncio.gather(*deletions, *creations)

    created = results[len(deletions) :]
    expected = {agent["id"] for agent in first[1::2]} | {agent["id"] for agent in created}
    ids = await agent_ids(client, project_id)
    assert len(ids) == len(set(ids)) == 15
    assert set(ids) == expected
    assert {item["agentId"] for item in await stored_agents(store, user_id)} == expected


async def test_nested_fields_follow_the_agents_lists(client: GraphQLClient) -> None:
    project_id = await create_project(client, "Nested")
    first_tool = await create_tool(client, project_id, "alpha")
    await create_tool(client, project_id, "beta")
    third_tool = await create_tool(client, project_id, "gamma")
    agent = await create(
        client,
        project_id,
        toolNames=["gamma", "alpha"],
        builtinToolNames=["web-search", "calculator"],
    )
    second = await create(client, project_id, name="Second")

    nested = (await client.data(NESTED, {"id": agent["id"]}))["agent"]
    project = (await client.data(PROJECT, {"id": project_id}))["project"]

    assert nested["project"] == {
        "id": project_id,
        "name": "Nested",
        "agentIds": [agent["id"], second["id"]],
    }
    assert nested["tools"] == [
        {"id": third_tool, "name": "gamma"},
        {"id": first_tool, "name": "alpha"},
    ]
    assert nested["builtinTools"] == [
        {"name": "web-search", "isActive": True},
        {"name": "calculator", "isActive": True},
    ]
    assert project["agents"] == [
        {"id": agent["id"], "name": agent["name"]},
        {"id": second["id"], "name": "Second"},
    ]


async def test_an_agents_tools_follow_its_tool_names_after_updates(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    project_id = await create_project(client)
    alpha = await create_tool(client, project_id, f"alpha-{uuid.uuid4().hex[:6]}")
    beta = await create_tool(client, project_id, f"beta-{uuid.uuid4().hex[:6]}")
    names = {alpha: await tool_name(client, alpha), beta: await tool_name(client, beta)}
    agent = await create(client, project_id, toolNames=[names[alpha]])

    await client.data(
        UPDATE, {"id": agent["id"], "input": {"toolNames": [names[beta], names[alpha]]}}
    )

    nested = (await client.data(NESTED, {"id": agent["id"]}))["agent"]
    assert [tool["id"] for tool in nested["tools"]] == [beta, alpha]
    item = await store.dynamo.get_item(
        store.tables.agents, {"userId": user_id, "agentId": agent["id"]}, consistent=True
    )
    assert item is not None
    assert item["toolIds"] == [beta, alpha]


async def test_an_agent_without_tool_ids_finds_its_tools_by_name_in_its_project(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    """Agents written by other programs, which follow the seed, have no `toolIds`."""
    project_id = await create_project(client)
    tool = await create_tool(client, project_id, f"legacy-{uuid.uuid4().hex[:6]}")
    agent = await create(client, project_id, toolNames=[await tool_name(client, tool)])
    await store.dynamo.update_item(
        store.tables.agents,
        {"userId": user_id, "agentId": agent["id"]},
        Expression("REMOVE toolIds"),
    )

    nested = (await client.data(NESTED, {"id": agent["id"]}))["agent"]

    assert [t["id"] for t in nested["tools"]] == [tool]


async def test_tool_ids_that_no_longer_match_the_tool_names_are_not_believed(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    """Another program changed the agent's `config.tools` and left `toolIds` as it was."""
    project_id = await create_project(client)
    kept = await create_tool(client, project_id, f"kept-{uuid.uuid4().hex[:6]}")
    named = await create_tool(client, project_id, f"named-{uuid.uuid4().hex[:6]}")
    agent = await create(client, project_id, toolNames=[await tool_name(client, kept)])
    await store.dynamo.update_item(
        store.tables.agents,
        {"userId": user_id, "agentId": agent["id"]},
        Expression(
            "SET config.tools = :tools", values={":tools": [await tool_name(client, named)]}
        ),
    )

    nested = (await client.data(NESTED, {"id": agent["id"]}))["agent"]

    assert [t["id"] for t in nested["tools"]] == [named]


async def tool_name(client: GraphQLClient, tool_id: str) -> str:
    data = await client.data("query($id: ID!) { tool(id: $id) { name } }", {"id": tool_id})
    name: str = data["tool"]["name"]
    return name


async def test_a_project_shows_the_children_it_lists_and_no_others(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    """The project item's `agentIds` says which agents it has (the seed): an agent item that
    names the project without being listed, or a listed id without an item, shows nothing."""
    project_id = await create_project(client)
    listed = await create(client, project_id, name="Listed")
    stray = await create(client, project_id, name="Stray")
    await store.dynamo.update_item(
        store.tables.projects,
        {"userId": user_id, "projectId": project_id},
        Expression("SET agentIds = :ids", values={":ids": [UNKNOWN_ID, listed["id"]]}),
    )
    both = """query($id: ID!) {
      project(id: $id) { agents { id } }
      projects { id agents { id } }
    }"""

    data = await client.data(both, {"id": project_id})

    assert data["project"]["agents"] == [{"id": listed["id"]}]
    (listing,) = [p for p in data["projects"] if p["id"] == project_id]
    assert listing["agents"] == [{"id": listed["id"]}]
    assert stray["id"] not in str(data)


async def test_project_agents_follow_agent_ids_after_a_delete(client: GraphQLClient) -> None:
    project_id = await create_project(client)
    agents = [await create(client, project_id, name=f"a{i}") for i in range(4)]
    await client.data(DELETE_AGENT, {"id": agents[1]["id"]})

    project = (await client.data(PROJECT, {"id": project_id}))["project"]

    remaining = [agents[0], agents[2], agents[3]]
    assert project["agentIds"] == [agent["id"] for agent in remaining]
    assert project["agents"] == [{"id": a["id"], "name": a["name"]} for a in remaining]


async def test_another_users_agent_is_invisible_and_unchangeable(
    client: GraphQLClient, app: ASGIApp
) -> None:
    project_id = await create_project(client)
    agent = await create(client, project_id)

    async with GraphQLClient.for_app(app, f"intruder-{uuid.uuid4().hex[:8]}") as intruder:
        seen = await intruder.data(GET, {"id": agent["id"]})
        update = await intruder.error(UPDATE, {"id": agent["id"], "input": {"name": "Mine"}})
        delete = await intruder.error(DELETE_AGENT, {"id": agent["id"]})
        create_there = await intruder.error(
            CREATE, {"projectId": project_id, "input": agent_input(name="Planted")}
        )

    assert seen["agent"] is None
    assert update["extensions"]["code"] == "NOT_FOUND"
    assert delete["extensions"]["code"] == "NOT_FOUND"
    assert create_there["extensions"]["code"] == "NOT_FOUND"
    assert await get(client, agent["id"]) == agent
    assert await agent_ids(client, project_id) == [agent["id"]]


@pytest.mark.parametrize("name", UNPRINTABLE_NAMES.values(), ids=UNPRINTABLE_NAMES.keys())
async def test_agent_names_with_control_or_format_characters_are_bad_user_input(
    client: GraphQLClient, name: str
) -> None:
    project_id = await create_project(client)
    agent = await create(client, project_id)

    errors = [
        await client.error(CREATE, {"projectId": project_id, "input": agent_input(name)}),
        await client.error(UPDATE, {"id": agent["id"], "input": {"name": name}}),
    ]

    for error in errors:
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "name"}
    assert await agent_ids(client, project_id) == [agent["id"]]
    assert await get(client, agent["id"]) == agent


@pytest.mark.parametrize("text", UNPRINTABLE_TEXT.values(), ids=UNPRINTABLE_TEXT.keys())
async def test_system_prompts_with_control_characters_or_bidi_overrides_are_bad_user_input(
    client: GraphQLClient, text: str
) -> None:
    project_id = await create_project(client)
    agent = await create(client, project_id)

    errors = [
        await client.error(
            CREATE, {"projectId": project_id, "input": agent_input(systemPrompt=text)}
        ),
        await client.error(UPDATE, {"id": agent["id"], "input": {"systemPrompt": text}}),
    ]

    for error in errors:
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "systemPrompt"}
    assert await get(client, agent["id"]) == agent


async def test_agents_keep_ordinary_unicode_names_and_multiline_prompts(
    client: GraphQLClient,
) -> None:
    project_id = await create_project(client)

    agents = [
        await create(client, project_id, name=name, systemPrompt=ORDINARY_TEXT)
        for name in ORDINARY_NAMES.values()
    ]

    assert [agent["name"] for agent in agents] == list(ORDINARY_NAMES.values())


async def test_a_project_at_its_agent_quota_is_refused_another_and_nothing_is_written(
    client: GraphQLClient, store: Store, user_id: str, lower_quotas: Callable[..., None]
) -> None:
    # given a project holding as many agents as a project may
    lower_quotas(AGENTS_PER_PROJECT=2)
    project_id = await create_project(client)
    tool_id = await create_tool(client, project_id, f"quota_{user_id[-6:]}")
    kept = [(await create(client, project_id, name=f"Agent {n}"))["id"] for n in range(2)]

    # when one more is created, using a tool
    variables = {
        "projectId": project_id,
        "input": agent_input("One too many", toolNames=[f"quota_{user_id[-6:]}"]),
    }
    error = await client.error(CREATE, variables)

    # then it is QUOTA_EXCEEDED, and neither the agent nor its mark on the tool was written
    assert error["extensions"] == {
        "code": "QUOTA_EXCEEDED",
        "quota": "AGENTS_PER_PROJECT",
        "limit": 2,
    }
    assert error["message"] == "a project holds at most 2 agents (AGENTS_PER_PROJECT)"
    assert await agent_ids(client, project_id) == kept
    assert len(await stored_agents(store, user_id)) == 2
    tool = await store.tools.get(user_id, tool_id, consistent=True)
    assert tool is not None
    assert not tool.used_by
    usage = await store.usage.read(user_id)
    assert usage is not None
    assert usage["agents"] == 2


async def test_an_account_at_its_agent_quota_is_refused_another_in_any_project(
    client: GraphQLClient, store: Store, user_id: str, lower_quotas: Callable[..., None]
) -> None:
    # given an account whose two projects hold as many agents as an account may
    lower_quotas(AGENTS_PER_USER=3)
    first, second = await create_project(client, "First"), await create_project(client, "Second")
    for project_id in (first, second, first):
        await create(client, project_id)

    # when either project gets one more
    errors = [
        await client.error(CREATE, {"projectId": project_id, "input": agent_input()})
        for project_id in (first, second)
    ]

    # then both are refused by the account's quota
    assert [error["extensions"]["quota"] for error in errors] == ["AGENTS_PER_USER"] * 2
    assert len(await stored_agents(store, user_id)) == 3


async def test_deleting_an_agent_frees_a_slot_under_the_agent_quota(
    client: GraphQLClient, store: Store, user_id: str, lower_quotas: Callable[..., None]
) -> None:
    # given a project at its agent quota
    lower_quotas(AGENTS_PER_PROJECT=1)
    project_id = await create_project(client)
    agent = await create(client, project_id)
    refused = await client.error(CREATE, {"projectId": project_id, "input": agent_input()})
    assert refused["extensions"]["code"] == "QUOTA_EXCEEDED"

    # when the agent is deleted
    await client.data(DELETE_AGENT, {"id": agent["id"]})

    # then another can be created, and the account's usage still counts one
    replacement = await create(client, project_id, name="Replacement")
    assert await agent_ids(client, project_id) == [replacement["id"]]
    usage = await store.usage.read(user_id)
    assert usage is not None
    assert usage["agents"] == 1


async def test_an_agent_lists_at_most_the_tools_per_agent_of_each_kind(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    # given a project
    project_id = await create_project(client)

    # when an agent lists one custom or one built-in tool more than an agent may
    custom = [f"tool_{n}" for n in range(quotas.TOOLS_PER_AGENT + 1)]
    builtin = [f"builtin-{n}" for n in range(quotas.BUILTIN_TOOLS_PER_AGENT + 1)]
    too_many: list[dict[str, Any]] = [{"toolNames": custom}, {"builtinToolNames": builtin}]
    errors = [
        await client.error(CREATE, {"projectId": project_id, "input": agent_input(**fields)})
        for fields in too_many
    ]

    # then each is BAD_USER_INPUT naming its field and the quota, and nothing is written
    assert [error["extensions"] for error in errors] == [
        {"code": "BAD_USER_INPUT", "field": "toolNames"},
        {"code": "BAD_USER_INPUT", "field": "builtinToolNames"},
    ]
    assert errors[0]["message"].endswith(
        f"at most {quotas.TOOLS_PER_AGENT} tools (TOOLS_PER_AGENT)"
    )
    assert errors[1]["message"].endswith(
        f"at most {quotas.BUILTIN_TOOLS_PER_AGENT} tools (BUILTIN_TOOLS_PER_AGENT)"
    )
    assert await stored_agents(store, user_id) == []
