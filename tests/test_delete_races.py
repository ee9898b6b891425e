"""Deletes racing each other and the cascade: one wins, the others answer as for something gone.

Given one item, when several deletes (or a delete and the cascade of its project) run at the
same moment, then exactly one succeeds, the others answer `NOT_FOUND` (or the documented
`CONFLICT`), nothing is logged as unexpected, and the project's lists stay exact.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from server.store import Store
from server.store.dynamo import Expression
from tests.conftest import GraphQLClient
from tests.documents import (
    CANCEL_DEPLOYMENT,
    CREATE_AGENT,
    CREATE_DEPLOYMENT,
    CREATE_PROJECT,
    CREATE_TOOL,
    DELETE_AGENT,
    DELETE_ENV_VAR,
    DELETE_PROJECT,
    DELETE_TOOL,
    SET_ENV_VAR,
    SET_MAIN_CONFIG,
)

GET_PROJECT = "query($id: ID!) { project(id: $id) { agentIds toolIds envIds mainConfig { id } } }"

MODEL = {"region": "us-east-1", "modelId": "anthropic.claude-3-sonnet-20240229-v1:0"}
INPUT_SCHEMA = {"type": "object", "properties": {"query": {"type": "string"}}}
RACERS = 4


Logged = Callable[[], list[logging.LogRecord]]


@pytest.fixture
def unexpected(caplog: pytest.LogCaptureFixture) -> Iterator[Logged]:
    """What the `server.errors` logger (unexpected errors) has logged so far in the test."""
    with caplog.at_level(logging.ERROR, logger="server.errors"):
        yield lambda: [record for record in caplog.records if record.name == "server.errors"]


async def create_project(client: GraphQLClient) -> str:
    data = await client.data(CREATE_PROJECT, {"input": {"name": "Racing"}})
    project_id: str = data["createProject"]["id"]
    return project_id


async def create_tool(client: GraphQLClient, project_id: str, name: str) -> str:
    tool = {"name": name, "type": "FRONTEND_ACTION", "inputSchema": INPUT_SCHEMA}
    data = await client.data(CREATE_TOOL, {"projectId": project_id, "input": tool})
    tool_id: str = data["createTool"]["id"]
    return tool_id


async def create_agent(client: GraphQLClient, project_id: str, tool_names: list[str]) -> str:
    agent = {"name": "Racer", "systemPrompt": "Race.", "toolNames": tool_names, "model": MODEL}
    data = await client.data(CREATE_AGENT, {"projectId": project_id, "input": agent})
    agent_id: str = data["createAgent"]["id"]
    return agent_id


async def set_env_var(client: GraphQLClient, project_id: str, key: str) -> None:
    await client.data(SET_ENV_VAR, {"projectId": project_id, "input": {"key": key, "value": "v"}})


async def set_main_config(client: GraphQLClient, project_id: str) -> dict[str, Any]:
    config = {"name": "Main", "systemPrompt": "Route.", "model": MODEL}
    return await client.execute(SET_MAIN_CONFIG, {"projectId": project_id, "input": config})


async def at_once(*calls: Any) -> list[dict[str, Any]]:
    responses: list[dict[str, Any]] = await asyncio.gather(*calls)
    return responses


def codes(responses: list[dict[str, Any]]) -> list[str | None]:
    """Per response: None for a success, else the code of its one error."""
    found = []
    for response in responses:
        errors = response.get("errors") or []
        assert len(errors) <= 1, errors
        found.append(errors[0]["extensions"]["code"] if errors else None)
    return found


def one_wins(responses: list[dict[str, Any]], losers: str) -> bool:
    """Exactly one response succeeded and every other failed with `losers`."""
    found = codes(responses)
    return found.count(None) == 1 and found.count(losers) == len(found) - 1


async def project_lists(client: GraphQLClient, project_id: str) -> dict[str, Any] | None:
    data = await client.data(GET_PROJECT, {"id": project_id})
    project: dict[str, Any] | None = data["project"]
    return project


async def usage_is_exact(store: Store, user_id: str) -> bool:
    """The account's usage item counts what its project items hold."""
    return await store.usage.read(user_id) == await store.usage.count(user_id)


async def user_items(store: Store, user_id: str) -> int:
    """How many items of the user's projects and children remain, in every table."""
    total = 0
    for table in ("projects", "agents", "tools", "main_config", "environment", "deployments"):
        items = store.dynamo.query(
            getattr(store.tables, table),
            Expression("userId = :u", values={":u": user_id}),
            where=Expression("NOT begins_with(toolId, :usage)", values={":usage": "usage#"})
            if table == "tools"
            else None,
            consistent=True,
        )
        total += len([item async for item in items])
    return total


async def test_concurrent_deletes_of_one_project_let_one_win_and_the_others_not_find_it(
    client: GraphQLClient, store: Store, user_id: str, unexpected: Logged
) -> None:
    project_id = await create_project(client)
    await create_tool(client, project_id, f"race_{user_id[-6:]}")
    await set_env_var(client, project_id, "KEY")

    responses = await at_once(
        *(client.execute(DELETE_PROJECT, {"id": project_id}) for _ in range(RACERS))
    )

    assert one_wins(responses, "NOT_FOUND")
    assert not unexpected()
    assert await user_items(store, user_id) == 0
    assert await usage_is_exact(store, user_id)


async def test_concurrent_deletes_of_one_agent_let_one_win_and_release_its_tools(
    client: GraphQLClient, store: Store, user_id: str, unexpected: Logged
) -> None:
    project_id = await create_project(client)
    tool_name = f"used_{user_id[-6:]}"
    tool_id = await create_tool(client, project_id, tool_name)
    agent_id = await create_agent(client, project_id, [tool_name])

    responses = await at_once(
        *(client.execute(DELETE_AGENT, {"id": agent_id}) for _ in range(RACERS))
    )

    assert one_wins(responses, "NOT_FOUND")
    assert not unexpected()
    assert (await project_lists(client, project_id) or {})["agentIds"] == []
    tool = await store.tools.get(user_id, tool_id, consistent=True)
    assert tool is not None
    assert not tool.used_by
    assert await usage_is_exact(store, user_id)


async def test_concurrent_deletes_of_one_tool_let_one_win_and_free_its_name(
    client: GraphQLClient, store: Store, user_id: str, unexpected: Logged
) -> None:
    project_id = await create_project(client)
    name = f"gone_{user_id[-6:]}"
    tool_id = await create_tool(client, project_id, name)

    responses = await at_once(
        *(client.execute(DELETE_TOOL, {"id": tool_id}) for _ in range(RACERS))
    )

    assert one_wins(responses, "NOT_FOUND")
    assert not unexpected()
    assert (await project_lists(client, project_id) or {})["toolIds"] == []
    reservation = await store.dynamo.get_item(
        store.tables.tools, {"userId": user_id, "toolId": f"name#{name}"}, consistent=True
    )
    assert reservation is None
    assert await usage_is_exact(store, user_id)


async def test_concurrent_deletes_of_one_env_var_let_one_win(
    client: GraphQLClient, store: Store, user_id: str, unexpected: Logged
) -> None:
    project_id = await create_project(client)
    await set_env_var(client, project_id, "DOOMED")
    await set_env_var(client, project_id, "KEPT")

    responses = await at_once(
        *(
            client.execute(DELETE_ENV_VAR, {"projectId": project_id, "key": "DOOMED"})
            for _ in range(RACERS)
        )
    )

    assert one_wins(responses, "NOT_FOUND")
    assert not unexpected()
    assert (await project_lists(client, project_id) or {})["envIds"] == [
        f"project-{project_id}-KEPT"
    ]
    assert await usage_is_exact(store, user_id)


async def test_concurrent_cancels_of_one_deployment_let_one_win_and_the_others_conflict(
    client: GraphQLClient, store: Store, user_id: str, unexpected: Logged
) -> None:
    """A cancelled deployment is FAILED, and FAILED cannot become FAILED: the losers answer
    as a second cancel would after the first, with CONFLICT."""
    project_id = await create_project(client)
    created = await client.data(CREATE_DEPLOYMENT, {"projectId": project_id})
    deployment_id = created["createDeployment"]["id"]

    responses = await at_once(
        *(client.execute(CANCEL_DEPLOYMENT, {"id": deployment_id}) for _ in range(RACERS))
    )

    assert one_wins(responses, "CONFLICT")
    assert not unexpected()
    project = await store.projects.get(user_id, project_id, consistent=True)
    assert project is not None
    assert project.active_deployment_id is None
    assert await usage_is_exact(store, user_id)


async def test_concurrent_main_config_replacements_all_succeed_one_after_the_other(
    client: GraphQLClient, unexpected: Logged
) -> None:
    """setMainConfig without expectedVersion is create-or-replace: every racer succeeds."""
    project_id = await create_project(client)
    assert "errors" not in await set_main_config(client, project_id)

    responses = await at_once(*(set_main_config(client, project_id) for _ in range(RACERS)))

    assert codes(responses) == [None] * RACERS
    versions = sorted(response["data"]["setMainConfig"]["version"] for response in responses)
    assert versions == list(range(2, RACERS + 2))
    assert not unexpected()


@pytest.mark.parametrize("child", ["agent", "tool", "env var", "main config", "deployment"])
async def test_a_child_changed_while_its_project_is_deleted_leaves_nothing_behind(
    client: GraphQLClient,
    store: Store,
    user_id: str,
    unexpected: Logged,
    child: str,
) -> None:
    """Each child write racing the cascade of its project either happens before it or finds
    the project (or the child) gone; the cascade wins either way."""
    project_id = await create_project(client)
    tool_name = f"cascaded_{user_id[-6:]}"
    tool_id = await create_tool(client, project_id, tool_name)
    agent_id = await create_agent(client, project_id, [])
    await set_env_var(client, project_id, "KEY")
    assert "errors" not in await set_main_config(client, project_id)
    created = await client.data(CREATE_DEPLOYMENT, {"projectId": project_id})
    racer: Callable[[], Awaitable[dict[str, Any]]] = {
        "agent": lambda: client.execute(DELETE_AGENT, {"id": agent_id}),
        "tool": lambda: client.execute(DELETE_TOOL, {"id": tool_id}),
        "env var": lambda: client.execute(DELETE_ENV_VAR, {"projectId": project_id, "key": "KEY"}),
        "main config": lambda: set_main_config(client, project_id),
        "deployment": lambda: client.execute(
            CANCEL_DEPLOYMENT, {"id": created["createDeployment"]["id"]}
        ),
    }[child]

    responses = await at_once(
        client.execute(DELETE_PROJECT, {"id": project_id}), *(racer() for _ in range(2))
    )

    project_code, *child_codes = codes(responses)
    assert project_code is None
    assert set(child_codes) <= {None, "NOT_FOUND", "CONFLICT"}
    assert not unexpected()
    assert await user_items(store, user_id) == 0
    assert await usage_is_exact(store, user_id)
