"""deleteProject cascades to every table, resumes after a failure and wins against creates."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.types import ASGIApp

from server.models import now_iso
from server.store import Store, cascade
from server.store.codec import Item
from server.store.dynamo import Expression
from server.store.usage import USAGE_ID
from tests.conftest import GraphQLClient
from tests.documents import (
    CANCEL_DEPLOYMENT,
    CREATE_AGENT,
    CREATE_DEPLOYMENT,
    CREATE_PROJECT,
    CREATE_TOOL,
    DELETE_PROJECT,
    SET_ENV_VAR,
    SET_MAIN_CONFIG,
)

GET_PROJECT = "query Get($id: ID!) { project(id: $id) { id } }"
LIST_PROJECTS = "query { projects { id } }"

MODEL = {"region": "us-east-1", "modelId": "anthropic.claude-3-sonnet-20240229-v1:0"}
INPUT_SCHEMA = {"type": "object", "properties": {"query": {"type": "string"}}}
UNKNOWN_ID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"

# The six tables of a user's data, as `TableNames` fields (built-in tools are not per user).
USER_TABLES = ("projects", "agents", "tools", "main_config", "environment", "deployments")
# batch_write_item calls of one cascade, in order: agents, main config, env vars, deployments,
# tools, tool-name reservations.
CASCADE_BATCHES = 6

Rows = dict[str, list[Item]]


@dataclass(frozen=True)
class Populated:
    project_id: str
    tool_names: tuple[str, ...]


class InjectedFailure(Exception):
    """What the failing client double raises instead of one batch write."""


class FailingBatchWrites:
    """The real aioboto3 client, except that its `fail_on`-th `batch_write_item` call raises."""

    def __init__(self, client: Any, fail_on: int) -> None:
        self._client = client
        self._fail_on = fail_on
        self.batch_writes = 0

    async def batch_write_item(self, **params: Any) -> dict[str, Any]:
        self.batch_writes += 1
        if self.batch_writes == self._fail_on:
            raise InjectedFailure(f"batch write {self.batch_writes} failed")
        response: dict[str, Any] = await self._client.batch_write_item(**params)
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


async def create_project(client: GraphQLClient, name: str) -> str:
    data = await client.data(CREATE_PROJECT, {"input": {"name": name}})
    project_id: str = data["createProject"]["id"]
    return project_id


async def create_tool(client: GraphQLClient, project_id: str, name: str) -> dict[str, Any]:
    return await client.execute(
        CREATE_TOOL,
        {
            "projectId": project_id,
            "input": {"name": name, "type": "FRONTEND_ACTION", "inputSchema": INPUT_SCHEMA},
        },
    )


async def create_agent(
    client: GraphQLClient, project_id: str, name: str, tool_names: list[str] | None = None
) -> dict[str, Any]:
    return await client.execute(CREATE_AGENT, agent_input(project_id, name, tool_names))


def agent_input(project_id: str, name: str, tool_names: list[str] | None = None) -> dict[str, Any]:
    return {
        "projectId": project_id,
        "input": {
            "name": name,
            "systemPrompt": f"You are {name}.",
            "toolNames": tool_names or [],
            "model": MODEL,
        },
    }


async def set_main_config(client: GraphQLClient, project_id: str) -> dict[str, Any]:
    return await client.execute(
        SET_MAIN_CONFIG,
        {
            "projectId": project_id,
            "input": {"name": "Orchestrator", "systemPrompt": "Route the work.", "model": MODEL},
        },
    )


async def set_env_var(
    client: GraphQLClient, project_id: str, key: str, value: str, secret: bool = False
) -> dict[str, Any]:
    return await client.execute(
        SET_ENV_VAR,
        {"projectId": project_id, "input": {"key": key, "value": value, "secret": secret}},
    )


async def populate(client: GraphQLClient, prefix: str) -> Populated:
    """A project with 3 tools, 3 agents (2 using tools), a main config, 3 env vars (1 secret)
    and 2 deployments (the first cancelled)."""
    project_id = await create_project(client, f"{prefix} project")
    tool_names = (f"{prefix}_search", f"{prefix}_notify", f"{prefix}_score")
    for name in tool_names:
        assert "errors" not in await create_tool(client, project_id, name)
    for agent_name, uses in (
        ("researcher", [tool_names[0], tool_names[2]]),
        ("notifier", [tool_names[1]]),
        ("planner", []),
    ):
        assert "errors" not in await create_agent(client, project_id, agent_name, uses)
    assert "errors" not in await set_main_config(client, project_id)
    assert "errors" not in await set_env_var(client, project_id, "API_URL", "https://x.test")
    assert "errors" not in await set_env_var(client, project_id, "REGION", "eu-west-1")
    assert "errors" not in await set_env_var(client, project_id, "API_KEY", "s3cr3t", True)
    first = await client.data(CREATE_DEPLOYMENT, {"projectId": project_id})
    cancelled = await client.data(CANCEL_DEPLOYMENT, {"id": first["createDeployment"]["id"]})
    assert cancelled["cancelDeployment"]["status"] == "FAILED"
    await client.data(CREATE_DEPLOYMENT, {"projectId": project_id})
    return Populated(project_id=project_id, tool_names=tool_names)


async def partition(store: Store, user_id: str) -> Rows:
    """Every item of the user in each of the six tables, read consistently, but for the
    account's usage item (see `usage_is_exact`)."""
    rows: Rows = {}
    for table in USER_TABLES:
        items = store.dynamo.query(
            getattr(store.tables, table),
            Expression("userId = :u", values={":u": user_id}),
            consistent=True,
        )
        rows[table] = [item async for item in items if item.get("toolId") != USAGE_ID]
    return rows


async def usage_is_exact(store: Store, user_id: str) -> dict[str, int] | None:
    """The account's usage counters, after checking they match its project items."""
    usage = await store.usage.read(user_id)
    assert usage == await store.usage.count(user_id)
    return usage


def of_project(rows: Rows, project: Populated) -> Rows:
    """The items of `rows` that belong to `project`: its own item, its children, and the
    name reservations of its tools."""
    reservations = {f"name#{name}" for name in project.tool_names}
    return {
        table: [
            item
            for item in items
            if item.get("projectId") == project.project_id
            or item.get("reservedFor") == project.project_id
            or item.get("toolId") in reservations
        ]
        for table, items in rows.items()
    }


def count(rows: Rows) -> int:
    return sum(len(items) for items in rows.values())


async def test_delete_project_removes_every_item_of_the_project_from_all_six_tables(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    # given two fully populated projects of one user
    doomed = await populate(client, "doomed")
    kept = await populate(client, "kept")
    before = await partition(store, user_id)
    assert {table: len(items) for table, items in of_project(before, doomed).items()} == {
        "projects": 1,
        "agents": 3,
        "tools": 6,  # 3 tools and their 3 name reservations
        "main_config": 1,
        "environment": 3,
        "deployments": 2,
    }

    # when one of them is deleted
    data = await client.data(DELETE_PROJECT, {"id": doomed.project_id})

    # then it returns the id, nothing of that project remains, and the other is untouched
    assert data["deleteProject"] == doomed.project_id
    after = await partition(store, user_id)
    assert of_project(after, doomed) == {table: [] for table in USER_TABLES}
    assert of_project(after, kept) == of_project(before, kept)
    assert after == of_project(before, kept)
    assert (await client.data(GET_PROJECT, {"id": doomed.project_id}))["project"] is None
    assert (await client.data(LIST_PROJECTS))["projects"] == [{"id": kept.project_id}]
    # and the account's usage counts only the kept project and its children
    assert await usage_is_exact(store, user_id) == {
        "projects": 1,
        "agents": 3,
        "tools": 3,
        "envVars": 3,
    }


async def test_tool_names_of_a_deleted_project_can_be_used_again_in_another_project(
    client: GraphQLClient,
) -> None:
    # given a project whose tools hold three names, and another project
    doomed = await populate(client, "reused")
    other = await create_project(client, "Other")
    taken = await create_tool(client, other, doomed.tool_names[0])
    assert taken["errors"][0]["extensions"]["code"] == "CONFLICT"

    # when the project is deleted
    await client.data(DELETE_PROJECT, {"id": doomed.project_id})

    # then each of its tool names can be given to a new tool of the other project
    for name in doomed.tool_names:
        created = await create_tool(client, other, name)
        assert "errors" not in created, created
        assert created["data"]["createTool"]["name"] == name


@pytest.mark.parametrize(
    "failing_call",
    [1, 3, CASCADE_BATCHES - 1, CASCADE_BATCHES],
    ids=["agents", "env-vars", "tools", "name-reservations"],
)
async def test_a_cascade_interrupted_part_way_is_finished_by_deleting_again(
    client: GraphQLClient, store: Store, user_id: str, failing_call: int
) -> None:
    # given two populated projects
    doomed = await populate(client, "halfway")
    kept = await populate(client, "intact")
    before = await partition(store, user_id)

    # when the cascade of one fails at one of its batch writes
    failing_client = FailingBatchWrites(store.client, fail_on=failing_call)
    failing_store = Store.on(failing_client, store.tables)

    with pytest.raises(InjectedFailure):
        await cascade.delete_project(failing_store, user_id, doomed.project_id, now=now_iso())

    # then the project already reads as gone, while some of its items are left over
    assert failing_client.batch_writes == failing_call
    assert (await client.data(GET_PROJECT, {"id": doomed.project_id}))["project"] is None
    listed = (await client.data(LIST_PROJECTS))["projects"]
    assert listed == [{"id": kept.project_id}]
    halfway = of_project(await partition(store, user_id), doomed)
    assert len(halfway["projects"]) == 1  # the marked project item, kept to resume from
    assert count(halfway) > 1

    # and deleteProject is then called again through the API
    data = await client.data(DELETE_PROJECT, {"id": doomed.project_id})

    # then the cascade is finished and the other project is untouched
    assert data["deleteProject"] == doomed.project_id
    after = await partition(store, user_id)
    assert of_project(after, doomed) == {table: [] for table in USER_TABLES}
    assert after == of_project(before, kept)
    usage = await usage_is_exact(store, user_id)
    assert usage is not None
    assert usage["projects"] == 1


async def test_a_half_deleted_project_refuses_new_children_with_not_found(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    # given a project whose cascade stopped after deleting its agents and main config
    doomed = await populate(client, "refusing")
    failing_store = Store.on(FailingBatchWrites(store.client, fail_on=3), store.tables)
    with pytest.raises(InjectedFailure):
        await cascade.delete_project(failing_store, user_id, doomed.project_id, now=now_iso())
    project_id = doomed.project_id

    # when children of every kind are added to it
    refusals = [
        await create_agent(client, project_id, "latecomer"),
        await create_agent(client, project_id, "tool user", [doomed.tool_names[0]]),
        await create_tool(client, project_id, "latecomer_tool"),
        await set_env_var(client, project_id, "NEW_KEY", "value"),
        await set_env_var(client, project_id, "REGION", "us-west-2"),
        await set_main_config(client, project_id),
        await client.execute(CREATE_DEPLOYMENT, {"projectId": project_id}),
    ]

    # then each is refused as NOT_FOUND, and the second delete still leaves nothing behind
    codes = [[error["extensions"]["code"] for error in body["errors"]] for body in refusals]
    assert codes == [["NOT_FOUND"]] * len(refusals), refusals
    await client.data(DELETE_PROJECT, {"id": project_id})
    after = await partition(store, user_id)
    assert after == {table: [] for table in USER_TABLES}
    reused = await create_tool(client, await create_project(client, "Next"), "latecomer_tool")
    assert "errors" not in reused, reused


async def test_agents_created_while_their_project_is_deleted_do_not_survive_it(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    # given a populated project
    doomed = await populate(client, "raced")

    # when ten agents are created in it while it is being deleted (each request staggered by
    # a few reads of the project, so that creates land before, during and after the cascade)
    async def after_reads(reads: int, document: str, variables: dict[str, Any]) -> dict[str, Any]:
        for _ in range(reads):
            await client.execute(GET_PROJECT, {"id": doomed.project_id})
        return await client.execute(document, variables)

    creates = [
        after_reads(i % 5, CREATE_AGENT, agent_input(doomed.project_id, f"racer {i}"))
        for i in range(10)
    ]
    deleted, *results = await asyncio.gather(
        after_reads(2, DELETE_PROJECT, {"id": doomed.project_id}), *creates
    )

    # then the delete succeeds, each create succeeded or found no project, and no agent is left
    assert deleted == {"data": {"deleteProject": doomed.project_id}}
    for result in results:
        if "errors" in result:
            assert [e["extensions"]["code"] for e in result["errors"]] == ["NOT_FOUND"], result
        else:
            assert result["data"]["createAgent"]["projectId"] == doomed.project_id
    after = await partition(store, user_id)
    assert [a for a in after["agents"] if a.get("projectId") == doomed.project_id] == []
    assert after == {table: [] for table in USER_TABLES}
    assert await usage_is_exact(store, user_id) == dict.fromkeys(
        ("projects", "agents", "tools", "envVars"), 0
    )


async def test_deleting_an_unknown_project_is_not_found_and_writes_nothing(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    # given a user with one populated project
    kept = await populate(client, "only")
    before = await partition(store, user_id)

    # when a project id that does not exist is deleted
    error = await client.error(DELETE_PROJECT, {"id": UNKNOWN_ID})

    # then it is NOT_FOUND and no item (such as a deletion marker) was written
    assert error["extensions"]["code"] == "NOT_FOUND"
    assert await partition(store, user_id) == before
    assert of_project(before, kept) == before


async def test_deleting_another_users_project_is_not_found_and_leaves_it_intact(
    client: GraphQLClient, store: Store, user_id: str, app: ASGIApp
) -> None:
    # given a user's populated project
    owned = await populate(client, "owned")
    before = await partition(store, user_id)

    # when another user deletes it
    async with GraphQLClient.for_app(app, f"{user_id}-intruder") as intruder:
        error = await intruder.error(DELETE_PROJECT, {"id": owned.project_id})

    # then it is NOT_FOUND, and the project and all its children are exactly as they were
    assert error["extensions"]["code"] == "NOT_FOUND"
    assert await partition(store, user_id) == before
    assert await partition(store, f"{user_id}-intruder") == {table: [] for table in USER_TABLES}
    assert (await client.data(GET_PROJECT, {"id": owned.project_id}))["project"] == {
        "id": owned.project_id
    }
