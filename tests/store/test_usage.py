"""The account usage item: exact counts for old accounts, quotas under concurrency, contention.

`server/store/usage.py` keeps, per account, how many projects, agents, tools and env vars it
has, in the same transactions as the writes that change them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from server.errors import ServiceUnavailable
from server.models import Project, new_id, now_iso
from server.store import Store, dynamo
from server.store.child_tables import ProjectLists
from server.store.transactions import TransactItem
from server.store.usage import USAGE_ID, for_list
from tests.conftest import GraphQLClient
from tests.documents import CREATE_AGENT, CREATE_PROJECT, CREATE_TOOL, DELETE_AGENT, SET_ENV_VAR

PROJECTS = "query { projects { id agentIds toolIds envIds tools { id } } }"
TOOL = "query($id: ID!) { tool(id: $id) { id } }"

MODEL = {"region": "us-east-1", "modelId": "anthropic.claude-3-sonnet-20240229-v1:0"}
STAMP = "2025-01-01T00:00:00.000Z"
RACERS = 6


def agent(name: str) -> dict[str, Any]:
    return {"name": name, "systemPrompt": "Work.", "model": MODEL}


def tool(name: str) -> dict[str, Any]:
    return {"name": name, "type": "FRONTEND_ACTION", "inputSchema": {"type": "object"}}


async def create_project(client: GraphQLClient, name: str = "Counted") -> str:
    data = await client.data(CREATE_PROJECT, {"input": {"name": name}})
    project_id: str = data["createProject"]["id"]
    return project_id


async def exact_usage(store: Store, user_id: str) -> dict[str, int] | None:
    """The account's usage item, after checking it matches what its project items count."""
    usage = await store.usage.read(user_id)
    assert usage == await store.usage.count(user_id)
    return usage


def outcome(response: dict[str, Any]) -> str:
    errors = response.get("errors") or []
    return errors[0]["extensions"]["code"] if errors else "OK"


async def write_legacy_account(store: Store, user_id: str) -> dict[str, list[str]]:
    """Items as a program that keeps no usage item writes them: a live project with two
    agents, a tool and three env vars in its lists, and a project whose cascade stopped
    part-way, still listing one agent. Returns the live project's lists by attribute."""
    lists = {
        "agentIds": ["legacy-agent-1", "legacy-agent-2"],
        "toolIds": ["legacy-tool-1"],
        "envIds": ["legacy-env-1", "legacy-env-2", "legacy-env-3"],
    }
    project = {"name": "Legacy", "description": "", "createdAt": STAMP, "updatedAt": STAMP}
    await store.dynamo.batch_write(
        store.tables.projects,
        puts=[
            {"userId": user_id, "projectId": "legacy-live", **project, **lists},
            {
                "userId": user_id,
                "projectId": "legacy-deleting",
                **project,
                "agentIds": ["legacy-agent-3"],
                "toolIds": [],
                "deleting": STAMP,
            },
        ],
    )
    await store.dynamo.batch_write(
        store.tables.agents,
        puts=[
            {
                "userId": user_id,
                "agentId": agent_id,
                "projectId": "legacy-live",
                "name": agent_id,
                "config": {"name": agent_id, "system_prompt": "Work.", "model": {}},
                "createdAt": STAMP,
                "updatedAt": STAMP,
            }
            for agent_id in lists["agentIds"]
        ],
    )
    return lists


async def test_an_account_from_before_quotas_is_counted_exactly_by_its_first_create(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    # given an account written without a usage item
    await write_legacy_account(store, user_id)
    assert await store.usage.read(user_id) is None

    # when it creates an agent
    await client.data(CREATE_AGENT, {"projectId": "legacy-live", "input": agent("New")})

    # then its usage counts both projects and every id their lists hold, and the new agent
    assert await exact_usage(store, user_id) == {
        "projects": 2,
        "agents": 4,
        "tools": 1,
        "envVars": 3,
    }


async def test_an_account_from_before_quotas_is_counted_exactly_by_its_first_delete(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    # given an account written without a usage item
    lists = await write_legacy_account(store, user_id)

    # when its first change deletes an agent
    await client.data(DELETE_AGENT, {"id": lists["agentIds"][0]})

    # then it was counted first, and the delete then taken off
    assert await exact_usage(store, user_id) == {
        "projects": 2,
        "agents": 2,
        "tools": 1,
        "envVars": 3,
    }


async def test_concurrent_first_creates_of_an_old_account_count_it_once(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    # given an account written without a usage item
    await write_legacy_account(store, user_id)

    # when several projects are created at once, each finding no usage item
    created = await asyncio.gather(
        *(client.execute(CREATE_PROJECT, {"input": {"name": f"P{n}"}}) for n in range(RACERS))
    )

    # then all succeed and the usage counts each exactly once
    assert [outcome(response) for response in created] == ["OK"] * RACERS
    usage = await exact_usage(store, user_id)
    assert usage is not None
    assert usage["projects"] == 2 + RACERS


@pytest.mark.parametrize(
    ("quota", "kind"),
    [
        ("PROJECTS_PER_USER", "project"),
        ("AGENTS_PER_PROJECT", "agent"),
        ("AGENTS_PER_USER", "agent"),
        ("TOOLS_PER_PROJECT", "tool"),
        ("TOOLS_PER_USER", "tool"),
        ("ENV_VARS_PER_PROJECT", "env var"),
        ("ENV_VARS_PER_USER", "env var"),
    ],
)
async def test_concurrent_creates_one_short_of_a_quota_let_exactly_one_succeed(
    client: GraphQLClient,
    store: Store,
    user_id: str,
    lower_quotas: Callable[..., None],
    quota: str,
    kind: str,
) -> None:
    # given an account or project one short of a quota (each quota 2, one item created)
    lower_quotas(**{quota: 2})
    project_id = await create_project(client)
    creates: dict[str, Callable[[int], Any]] = {
        "project": lambda n: client.execute(CREATE_PROJECT, {"input": {"name": f"P{n}"}}),
        "agent": lambda n: client.execute(
            CREATE_AGENT, {"projectId": project_id, "input": agent(f"A{n}")}
        ),
        "tool": lambda n: client.execute(
            CREATE_TOOL, {"projectId": project_id, "input": tool(f"t{n}")}
        ),
        "env var": lambda n: client.execute(
            SET_ENV_VAR, {"projectId": project_id, "input": {"key": f"K{n}", "value": "v"}}
        ),
    }
    create = creates[kind]
    if kind != "project":
        assert outcome(await create(0)) == "OK"

    # when several are created at once
    responses = await asyncio.gather(*(create(n) for n in range(1, RACERS + 1)))

    # then exactly one succeeds, the others are refused by that quota, and counts are exact
    outcomes = [outcome(response) for response in responses]
    assert sorted(outcomes) == ["OK"] + ["QUOTA_EXCEEDED"] * (RACERS - 1)
    refusals = [r["errors"][0]["extensions"] for r in responses if "errors" in r]
    assert {refusal["quota"] for refusal in refusals} == {quota}
    usage = await exact_usage(store, user_id)
    assert usage is not None
    counted = {"project": "projects", "agent": "agents", "tool": "tools", "env var": "envVars"}
    assert usage[counted[kind]] == 2


async def test_the_usage_item_shows_in_no_listing_and_is_no_tool(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    project_id = await create_project(client)
    await client.data(CREATE_TOOL, {"projectId": project_id, "input": tool("visible")})
    assert await store.usage.read(user_id) is not None

    projects = (await client.data(PROJECTS))["projects"]

    assert [len(project["tools"]) for project in projects] == [1]
    assert (await client.data(TOOL, {"id": USAGE_ID}))["tool"] is None


class ConflictingTransactions:
    """The real aioboto3 client, except that its first `conflicts` TransactWriteItems calls are
    cancelled with `TransactionConflict`, as DynamoDB cancels transactions that collide on an
    item (which moto never does)."""

    def __init__(self, client: Any, conflicts: int) -> None:
        self._client = client
        self._conflicts = conflicts
        self.calls = 0

    async def transact_write_items(self, **params: Any) -> dict[str, Any]:
        self.calls += 1
        if self.calls <= self._conflicts:
            reasons = [{"Code": "None"}] * (len(params["TransactItems"]) - 1)
            raise ClientError(
                {
                    "Error": {"Code": "TransactionCanceledException", "Message": "conflict"},
                    "CancellationReasons": [*reasons, {"Code": "TransactionConflict"}],
                },
                "TransactWriteItems",
            )
        response: dict[str, Any] = await self._client.transact_write_items(**params)
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def project_of(user_id: str) -> Project:
    now = now_iso()
    return Project(
        user_id=user_id, project_id=new_id(), name="Contended", created_at=now, updated_at=now
    )


async def test_a_create_cancelled_by_transaction_conflicts_is_retried_until_it_passes(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    # given an account whose usage item other transactions keep colliding with, three times
    await create_project(client)
    contended = ConflictingTransactions(store.client, conflicts=3)

    # when a project is created
    await Store.on(contended, store.tables).projects.create(project_of(user_id))

    # then the fourth attempt wrote it, once
    assert contended.calls == 4
    usage = await exact_usage(store, user_id)
    assert usage is not None
    assert usage["projects"] == 2


async def test_a_create_that_keeps_conflicting_is_service_unavailable_and_writes_nothing(
    client: GraphQLClient, store: Store, user_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given an account whose every transaction is cancelled by a conflict (fewer retries than
    # in production, to keep the test short)
    monkeypatch.setattr(dynamo, "TRANSACTION_RETRIES", 3)
    await create_project(client)
    contended = ConflictingTransactions(store.client, conflicts=1_000)

    # when a project is created
    with pytest.raises(ServiceUnavailable):
        await Store.on(contended, store.tables).projects.create(project_of(user_id))

    # then it gave up after the bounded retries, and nothing was written
    assert contended.calls == 3
    usage = await exact_usage(store, user_id)
    assert usage is not None
    assert usage["projects"] == 1


class ActsAfterFirstProjectRead:
    """The real aioboto3 client, except that right after its first GetItem of a project it
    runs `meanwhile`: a write landing between a read and the write that relies on it."""

    def __init__(self, client: Any, meanwhile: Callable[[], Any]) -> None:
        self._client = client
        self._meanwhile: Callable[[], Any] | None = meanwhile

    async def get_item(self, **params: Any) -> dict[str, Any]:
        response: dict[str, Any] = await self._client.get_item(**params)
        if self._meanwhile is not None and "projectId" in params["Key"]:
            meanwhile, self._meanwhile = self._meanwhile, None
            await meanwhile()
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


async def test_a_cascade_whose_project_lists_shrink_as_it_ends_takes_off_what_remains(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    # given a marked project listing two agents, whose cascade deleted its children
    project_id = await create_project(client)
    for name in ("First", "Second"):
        await client.data(CREATE_AGENT, {"projectId": project_id, "input": agent(name)})
    listed = await store.projects.get(user_id, project_id, consistent=True)
    assert listed is not None
    await store.projects.mark_deleting(user_id, project_id, now=now_iso())

    # when an id leaves the list (with its count) between the final step's read and write
    async def remove_first() -> None:
        removal = store_lists_removal(store, listed, listed.agent_ids[0])
        await store.usage.transact(user_id, [removal], for_list("agentIds", -1))

    acting = Store.on(ActsAfterFirstProjectRead(store.client, remove_first), store.tables)
    await acting.projects.delete_marked(user_id, project_id)

    # then the final step read again and took off only the one agent still listed
    assert await exact_usage(store, user_id) == dict.fromkeys(
        ("projects", "agents", "tools", "envVars"), 0
    )


def store_lists_removal(store: Store, project: Project, agent_id: str) -> TransactItem:
    removal = ProjectLists(store.tables.projects).remove(
        project, "agentIds", project.agent_ids, agent_id
    )
    assert removal is not None
    return removal
