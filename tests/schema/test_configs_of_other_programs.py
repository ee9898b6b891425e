"""Config maps that other programs wrote, read over GraphQL: the seed's keys they leave out read
as defaults, keys the seed does not have are shown and kept, and nothing the server did not
change is rewritten."""

from __future__ import annotations

from typing import Any

from server.models import new_id
from server.store import Store
from server.store.dynamo import Expression
from tests.conftest import GraphQLClient

STAMP = "2026-01-01T00:00:00.000Z"
AGENT_FIELDS = """
    name description type systemPrompt toolNames builtinToolNames model { region modelId }
    config version
"""
GET_AGENT = f"query($id: ID!) {{ agent(id: $id) {{ {AGENT_FIELDS} }} }}"
UPDATE_AGENT = f"""
mutation($id: ID!, $input: UpdateAgentInput!) {{ updateAgent(id: $id, input: $input) {{
  {AGENT_FIELDS}
}} }}
"""
GET_TOOL = "query($id: ID!) { tool(id: $id) { name description type inputSchema code config } }"
PROJECT = """
query($id: ID!) { project(id: $id) { mainConfig { name description systemPrompt config } } }
"""
DEPLOY = "mutation($id: ID!) { createDeployment(projectId: $id) { config } }"

# No `description`, `builtin_tools` nor model id; a key of its own, and one in `model`.
AGENT_CONFIG: dict[str, Any] = {
    "name": "Legacy",
    "type": "agent_tool",
    "system_prompt": "Work.",
    "tools": [],
    "model": {"region": "eu-west-1", "temperature": 0.5},
    "owner": {"team": "support", "since": 2019},
}
# No `type` (the API has always shown such a tool as CODE), no `inputSchema`.
TOOL_CONFIG: dict[str, Any] = {"name": "legacy_tool", "code": "pass", "labels": ["old"]}
MAIN_CONFIG: dict[str, Any] = {"name": "Main", "model": {"region": "eu-west-1"}, "extra": True}


async def write_project(store: Store, user_id: str) -> tuple[str, str, str]:
    """A project written by another program, with one agent, one tool and a main config;
    returns the ids of the project, the agent and the tool."""
    project_id, agent_id, tool_id = new_id(), new_id(), new_id()
    common = {"userId": user_id, "projectId": project_id, "createdAt": STAMP, "updatedAt": STAMP}
    tables = store.tables
    await store.dynamo.put_item(
        tables.projects,
        {
            **common,
            "name": "Legacy project",
            "description": "",
            "agentIds": [agent_id],
            "toolIds": [tool_id],
            "envIds": [],
            "deploymentIds": [],
            "mainAgentConfig": f"project-{project_id}",
        },
    )
    await store.dynamo.put_item(
        tables.agents, {**common, "agentId": agent_id, "name": "Legacy", "config": AGENT_CONFIG}
    )
    await store.dynamo.put_item(
        tables.tools,
        {**common, "toolId": tool_id, "name": "legacy_tool", "config": TOOL_CONFIG},
    )
    await store.dynamo.put_item(
        tables.main_config, {**common, "configId": f"project-{project_id}", "config": MAIN_CONFIG}
    )
    return project_id, agent_id, tool_id


async def test_an_agent_reads_the_seeds_keys_it_lacks_as_defaults_and_shows_its_config_as_stored(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    # given an agent another program wrote
    _, agent_id, _ = await write_project(store, user_id)

    # when it is read
    agent = (await client.data(GET_AGENT, {"id": agent_id}))["agent"]

    # then what it lacks reads as the seed's defaults, and its config is exactly the stored map
    assert agent == {
        "name": "Legacy",
        "description": "",
        "type": "AGENT_TOOL",
        "systemPrompt": "Work.",
        "toolNames": [],
        "builtinToolNames": [],
        "model": {"region": "eu-west-1", "modelId": ""},
        "config": AGENT_CONFIG,
        "version": 1,
    }


async def test_updating_an_agent_keeps_the_keys_of_its_config_that_the_update_does_not_give(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    # given an agent another program wrote
    _, agent_id, _ = await write_project(store, user_id)

    # when its system prompt is updated
    updated = (
        await client.data(UPDATE_AGENT, {"id": agent_id, "input": {"systemPrompt": "Rest."}})
    )["updateAgent"]

    # then only the system prompt changed in its stored config: keys of its own stay, and the
    # seed's keys it lacked are still absent
    item = await store.dynamo.get_item(
        store.tables.agents, {"userId": user_id, "agentId": agent_id}, consistent=True
    )
    assert item is not None
    assert item["config"] == updated["config"] == {**AGENT_CONFIG, "system_prompt": "Rest."}
    assert (item["name"], item["version"]) == ("Legacy", 2)


async def test_a_tool_and_a_main_config_read_the_seeds_keys_they_lack_as_defaults(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    # given a tool and a main config another program wrote
    project_id, _, tool_id = await write_project(store, user_id)

    # when they are read
    tool = (await client.data(GET_TOOL, {"id": tool_id}))["tool"]
    main = (await client.data(PROJECT, {"id": project_id}))["project"]["mainConfig"]

    # then
    assert tool == {
        "name": "legacy_tool",
        "description": "",
        "type": "CODE",
        "inputSchema": {},
        "code": "pass",
        "config": TOOL_CONFIG,
    }
    assert main == {"name": "Main", "description": "", "systemPrompt": "", "config": MAIN_CONFIG}


async def test_a_snapshot_holds_each_config_as_stored_keys_of_its_own_included(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    # given a project another program wrote
    project_id, agent_id, tool_id = await write_project(store, user_id)

    # when it is deployed
    snapshot = (await client.data(DEPLOY, {"id": project_id}))["createDeployment"]["config"]

    # then its snapshot holds the configs exactly as stored, each agent and tool with its id
    assert snapshot == {
        "project": {"id": project_id, "name": "Legacy project", "description": ""},
        "mainConfig": MAIN_CONFIG,
        "agents": [{"id": agent_id, **AGENT_CONFIG}],
        "tools": [{"id": tool_id, **TOOL_CONFIG}],
        "env": [],
    }


async def test_values_of_a_kind_the_api_cannot_read_read_as_defaults_not_as_an_error(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    # given an agent another program wrote with a list for its prompt, an unknown type and a
    # model region that is a map
    _, agent_id, _ = await write_project(store, user_id)
    odd = {
        **AGENT_CONFIG,
        "system_prompt": ["Work.", "Rest."],
        "type": "planner",
        "model": {"region": {"primary": "eu-west-1"}, "model_id": "m"},
    }
    await store.dynamo.update_item(
        store.tables.agents,
        {"userId": user_id, "agentId": agent_id},
        Expression("SET config = :config", values={":config": odd}),
    )

    # when it is read, alone and in its project's listing
    body = await client.execute(GET_AGENT, {"id": agent_id})
    listing = await client.data("{ projects { agents { id systemPrompt } } }")

    # then those values read as the seed's defaults, and nothing fails
    assert "errors" not in body, body["errors"]
    agent = body["data"]["agent"]
    assert (agent["systemPrompt"], agent["type"]) == ("", "AGENT_TOOL")
    assert agent["model"] == {"region": "", "modelId": "m"}
    assert {"id": agent_id, "systemPrompt": ""} in [
        a for project in listing["projects"] for a in project["agents"]
    ]
