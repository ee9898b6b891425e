"""`recentDeployments`: each project item summarizes its newest deployments, written in the
transactions that write them, so listings read no deployment item; the summary always equals
the items, and a summary that may not is never believed."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from asgi_lifespan import LifespanManager
from starlette.types import ASGIApp
from ulid import ULID as UniqueId

from server.app import create_app
from server.deployments.lifecycle import INTERRUPTED, change_status
from server.deployments.notices import DeploymentNotices
from server.models import DeploymentStatus, StatusUpdate, new_id, now_iso
from server.settings import Settings
from server.store import LostRace, Store
from server.store.dynamo import Expression
from tests.conftest import GraphQLClient
from tests.deployments.test_sweeper import abandoned
from tests.deployments.test_worker import project as deployable_project
from tests.deployments.test_worker import worker_for
from tests.documents import (
    CANCEL_DEPLOYMENT,
    CREATE_DEPLOYMENT,
    CREATE_PROJECT,
    UPDATE_DEPLOYMENT_STATUS,
    UPDATE_PROJECT,
)
from tests.schema.test_deployment import seed_finished_deployments, stored
from tests.schema.test_retention import pending
from tests.store.test_usage import ActsAfterFirstProjectRead
from tests.summaries import SUMMARIZED, assert_summary_exact, project_item

LISTED = "id status createdAt updatedAt error"
DASHBOARD = (
    f"{{ projects {{ id deployments(limit: 5) {{ {LISTED} }} latestDeployment {{ id status }} }} }}"
)
PROJECT = f"""
query($p: ID!) {{
  project(id: $p) {{ deployments(limit: 5) {{ {LISTED} }} latestDeployment {{ id status }} }}
}}
"""
SHOWN_IN_FULL = """
query($p: ID!) {
  project(id: $p) { deployments(limit: 2) { id config } latestDeployment { id logs } }
}
"""
LISTING = """
query($p: ID!, $status: DeploymentStatus, $limit: Int) {
  project(id: $p) { deployments(status: $status, limit: $limit) { id status } }
}
"""


@pytest.fixture(scope="module")
async def app(settings: Settings, store: Store) -> AsyncIterator[ASGIApp]:
    """The app telling which DynamoDB items each response read; deployments stay where the
    tests put them."""
    debugged = settings.model_copy(update={"debug_extensions": True, "deployer": "none"})
    async with LifespanManager(create_app(debugged)) as manager:
        yield manager.app


@pytest.fixture
async def admin(app: ASGIApp) -> AsyncIterator[GraphQLClient]:
    async with GraphQLClient.for_app(app, f"pipeline-{uuid.uuid4().hex[:8]}", "admin") as admin:
        yield admin


async def new_project(client: GraphQLClient) -> str:
    data = await client.data(CREATE_PROJECT, {"input": {"name": "Summarized"}})
    project_id: str = data["createProject"]["id"]
    return project_id


async def deploy(client: GraphQLClient, project_id: str) -> str:
    created = await client.data(CREATE_DEPLOYMENT, {"projectId": project_id})
    deployment_id: str = created["createDeployment"]["id"]
    return deployment_id


async def finished(client: GraphQLClient, project_id: str) -> str:
    """A new deployment of the project, cancelled (FAILED) at once."""
    deployment_id = await deploy(client, project_id)
    await client.data(CANCEL_DEPLOYMENT, {"id": deployment_id})
    return deployment_id


async def move(
    admin: GraphQLClient, user_id: str, deployment_id: str, status: str, **more: Any
) -> dict[str, Any]:
    variables = {"userId": user_id, "id": deployment_id, "status": status, **more}
    moved = await admin.data(UPDATE_DEPLOYMENT_STATUS, variables)
    status_changed: dict[str, Any] = moved["updateDeploymentStatus"]
    return status_changed


async def written_elsewhere(
    store: Store, user_id: str, project_id: str, status: str = "success"
) -> dict[str, Any]:
    """A deployment of the project, the newest, written by another program (its id not yet in
    the project's lists); returns its item."""
    now = now_iso()
    item: dict[str, Any] = {
        "userId": user_id,
        "deploymentId": new_id(),
        "projectId": project_id,
        "status": status,
        "config": {},
        "logs": [],
        "createdAt": now,
        "updatedAt": now,
    }
    await store.dynamo.put_item(store.tables.deployments, item)
    return item


def tables_read(body: dict[str, Any]) -> set[str]:
    assert "errors" not in body, body["errors"]
    return {read["table"] for read in body["extensions"]["dynamodb"]["reads"]}


def deployment_keys_read(store: Store, body: dict[str, Any]) -> list[list[str]]:
    """The deployment ids each read of the Deployments table named, read by read."""
    return [
        [key["deploymentId"] for key in read.get("keys", [])]
        for read in body["extensions"]["dynamodb"]["reads"]
        if read["table"] == store.tables.deployments
    ]


async def test_the_dashboard_and_a_project_list_deployments_without_reading_their_items(
    client: GraphQLClient, admin: GraphQLClient, store: Store, user_id: str
) -> None:
    # Given a project with a cancelled, a failed, a succeeded and a pending deployment
    project_id = await new_project(client)
    cancelled = await finished(client, project_id)
    failed = await deploy(client, project_id)
    await move(admin, user_id, failed, "FAILED", error="no main config")
    succeeded = await deploy(client, project_id)
    await move(admin, user_id, succeeded, "DEPLOYING", appendLogs=["building"])
    await move(admin, user_id, succeeded, "SUCCESS")
    pending = await deploy(client, project_id)

    # When the Dashboard and the project list them
    dashboard = await client.execute(DASHBOARD)
    project = await client.execute(PROJECT, {"p": project_id})

    # Then nothing is read from the Deployments table, and the listings are the items
    assert store.tables.deployments not in tables_read(dashboard)
    assert store.tables.deployments not in tables_read(project)
    newest_first = [pending, succeeded, failed, cancelled]
    items = [await stored(store, user_id, id_) for id_ in newest_first]
    expected = [
        {
            "id": item["deploymentId"],
            "status": item["status"].upper(),
            "createdAt": item["createdAt"],
            "updatedAt": item["updatedAt"],
            "error": item.get("error"),
        }
        for item in items
        if item is not None
    ]
    listed = project["data"]["project"]
    assert listed["deployments"] == expected
    assert [e for e in expected if e["error"]] == expected[2:]
    assert listed["latestDeployment"] == {"id": pending, "status": "PENDING"}
    (on_dashboard,) = dashboard["data"]["projects"]
    assert on_dashboard["deployments"] == expected
    assert on_dashboard["latestDeployment"] == listed["latestDeployment"]


async def test_config_or_logs_read_only_the_deployments_shown_by_id(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    project_id = await new_project(client)
    ids = [await finished(client, project_id) for _ in range(4)]

    body = await client.execute(SHOWN_IN_FULL, {"p": project_id})

    assert "errors" not in body
    listed = body["data"]["project"]
    assert [d["id"] for d in listed["deployments"]] == ids[:1:-1]
    assert all(d["config"]["project"]["id"] == project_id for d in listed["deployments"])
    assert listed["latestDeployment"]["logs"][-1].endswith("failed: cancelled")
    assert [sorted(keys) for keys in deployment_keys_read(store, body)] == [sorted(ids[2:])]


async def test_the_summary_equals_the_items_through_every_status_change_of_the_pipeline(
    client: GraphQLClient, admin: GraphQLClient, store: Store, user_id: str
) -> None:
    project_id = await new_project(client)
    first = await deploy(client, project_id)
    assert [e["status"] for e in await assert_summary_exact(store, user_id, project_id)] == [
        "pending"
    ]

    await move(admin, user_id, first, "DEPLOYING", appendLogs=["building agents"])
    await assert_summary_exact(store, user_id, project_id)
    await move(admin, user_id, first, "DEPLOYING", appendLogs=["still building"])  # a log line
    assert (await assert_summary_exact(store, user_id, project_id))[0]["version"] == 3
    await move(admin, user_id, first, "SUCCESS", appendLogs=["done"])
    await assert_summary_exact(store, user_id, project_id)

    second = await deploy(client, project_id)
    await move(admin, user_id, second, "FAILED", error="agents[0]: no model\nsee the logs")
    failed, succeeded = await assert_summary_exact(store, user_id, project_id)
    assert (failed["status"], failed["error"]) == ("failed", "agents[0]: no model\nsee the logs")
    assert (succeeded["status"], "error" in succeeded) == ("success", False)

    third = await finished(client, project_id)
    cancelled, *_ = await assert_summary_exact(store, user_id, project_id)
    assert (cancelled["deploymentId"], cancelled["error"]) == (third, "cancelled")


@pytest.mark.parametrize("main", [True, False], ids=["success", "failure"])
async def test_the_workers_steps_keep_the_summary_equal_to_the_item(
    client: GraphQLClient, store: Store, user_id: str, main: bool
) -> None:
    project_id = await deployable_project(client, main=main)
    deployment_id = await deploy(client, project_id)

    await worker_for(store).process(user_id, deployment_id)

    (entry,) = await assert_summary_exact(store, user_id, project_id)
    assert entry["status"] == ("success" if main else "failed")


async def test_a_create_taking_the_slot_of_an_abandoned_deployment_keeps_the_summary_exact(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    # Given a project whose active deployment was abandoned by its worker
    project_id = await new_project(client)
    stuck = await deploy(client, project_id)
    await abandoned(store, user_id, stuck)

    # When its owner deploys again, failing the abandoned one on the way
    new = await deploy(client, project_id)

    # Then the summary holds both as their items do
    newest, old = await assert_summary_exact(store, user_id, project_id)
    assert (newest["deploymentId"], newest["status"]) == (new, "pending")
    assert (old["deploymentId"], old["status"], old["error"]) == (stuck, "failed", INTERRUPTED)


@pytest.mark.parametrize(
    ("kept", "recent"), [(5, 3), (3, 10)], ids=["summary within history", "history shorter"]
)
async def test_pruning_past_the_retention_bound_keeps_the_summary_exact(
    client: GraphQLClient,
    store: Store,
    user_id: str,
    lower_quotas: Callable[..., None],
    kept: int,
    recent: int,
) -> None:
    # Given a project keeping `kept` deployments and summarizing its newest `recent`
    lower_quotas(DEPLOYMENTS_PER_PROJECT=kept, RECENT_DEPLOYMENTS=recent)
    project_id = await new_project(client)

    # When more than `kept` are created
    ids = [await finished(client, project_id) for _ in range(kept + 2)]

    # Then the oldest are gone and the summary lists the newest as they are
    summary = await assert_summary_exact(store, user_id, project_id)
    assert [entry["deploymentId"] for entry in summary] == ids[::-1][: min(kept, recent)]
    assert (await project_item(store, user_id, project_id))["deploymentIds"] == ids[-kept:]


async def test_concurrent_status_changes_log_lines_and_a_rename_lose_nothing(
    client: GraphQLClient, admin: GraphQLClient, store: Store, user_id: str
) -> None:
    # Given a deployment being deployed
    project_id = await new_project(client)
    await finished(client, project_id)
    deployment_id = await deploy(client, project_id)
    await move(admin, user_id, deployment_id, "DEPLOYING")
    lines = [f"step {n}" for n in range(6)]

    # When log lines come at once, through the API and the store, while the project is renamed
    await asyncio.gather(
        *(
            move(admin, user_id, deployment_id, "DEPLOYING", appendLogs=[line])
            for line in lines[:4]
        ),
        *(
            change_status(
                store,
                DeploymentNotices(),
                user_id,
                deployment_id,
                StatusUpdate.model_validate({"status": "deploying", "appendLogs": [line]}),
            )
            for line in lines[4:]
        ),
        client.data(UPDATE_PROJECT, {"id": project_id, "input": {"name": "Renamed meanwhile"}}),
    )
    await move(admin, user_id, deployment_id, "SUCCESS")

    # Then every line is in the logs, the summary equals the item, and the rename held
    item = await stored(store, user_id, deployment_id)
    assert item is not None
    assert sorted(line.split(" ", 1)[1] for line in item["logs"] if " step " in line) == lines
    newest, _ = await assert_summary_exact(store, user_id, project_id)
    assert (newest["status"], newest["version"]) == ("success", 9)
    assert (await project_item(store, user_id, project_id))["name"] == "Renamed meanwhile"


async def test_a_change_from_a_project_read_before_its_summary_moved_is_retried(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    # Given a pending deployment, and a program that, right after the change below reads the
    # project, adds a newer deployment before it in the summary (shifting its entry)
    project_id = await new_project(client)
    deployment_id = await deploy(client, project_id)
    other = await written_elsewhere(store, user_id, project_id)

    async def newer_one_written() -> None:
        await store.dynamo.update_item(
            store.tables.projects,
            {"userId": user_id, "projectId": project_id},
            Expression(
                "SET deploymentIds = list_append(deploymentIds, :id),"
                " recentDeployments = list_append(:entry, recentDeployments)",
                values={
                    ":id": [other["deploymentId"]],
                    ":entry": [{"version": 1, **{k: other[k] for k in SUMMARIZED if k in other}}],
                },
            ),
        )

    racing = Store.on(ActsAfterFirstProjectRead(store.client, newer_one_written), store.tables)

    # When the deployment is cancelled from the read that came before
    await change_status(
        racing,
        DeploymentNotices(),
        user_id,
        deployment_id,
        StatusUpdate(status=DeploymentStatus.FAILED, error="cancelled"),
    )

    # Then the change was written again from a fresh read, to the entry where it now is
    newer, cancelled = await assert_summary_exact(store, user_id, project_id)
    assert newer["deploymentId"] == other["deploymentId"]
    assert (cancelled["deploymentId"], cancelled["status"]) == (deployment_id, "failed")


async def raw_project(store: Store, user_id: str, deployment_ids: list[str] | None) -> str:
    """A project item as another program writes it by the seed: no `recentDeployments`, and
    no `deploymentIds` either when `deployment_ids` is None."""
    project_id = str(UniqueId())
    item: dict[str, Any] = {
        "userId": user_id,
        "projectId": project_id,
        "name": "Written elsewhere",
        "description": "",
        "agentIds": [],
        "toolIds": [],
        "envIds": [],
        "createdAt": "2025-01-01T00:00:00.000Z",
        "updatedAt": "2025-01-01T00:00:00.000Z",
    }
    if deployment_ids is not None:
        item["deploymentIds"] = deployment_ids
    await store.dynamo.put_item(store.tables.projects, item)
    return project_id


async def test_a_project_without_a_summary_lists_by_id_and_its_next_create_writes_one(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    # Given a project written by another program, with three deployments and no summary
    project_id = await raw_project(store, user_id, [])
    ids = await seed_finished_deployments(store, user_id, project_id, 3)

    # When it is listed, then deployed
    before = await client.execute(PROJECT, {"p": project_id})
    new = await deploy(client, project_id)
    after = await client.execute(PROJECT, {"p": project_id})

    # Then the listing read the deployments by id; the create wrote an exact summary, from
    # which the next listing answers without reading them
    assert [d["id"] for d in before["data"]["project"]["deployments"]] == ids[::-1]
    assert deployment_keys_read(store, before) == [ids[::-1]]
    summary = await assert_summary_exact(store, user_id, project_id)
    assert [entry["deploymentId"] for entry in summary] == [new, *ids[::-1]]
    assert [d["id"] for d in after["data"]["project"]["deployments"]] == [new, *ids[::-1]]
    assert store.tables.deployments not in tables_read(after)


async def test_a_project_written_without_deployment_ids_gets_both_lists_with_its_first(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    project_id = await raw_project(store, user_id, None)

    first = await deploy(client, project_id)

    assert (await project_item(store, user_id, project_id))["deploymentIds"] == [first]
    (entry,) = await assert_summary_exact(store, user_id, project_id)
    assert (entry["deploymentId"], entry["status"]) == (first, "pending")


@pytest.mark.parametrize("change", ["added", "removed"])
async def test_a_summary_out_of_step_with_deployment_ids_is_ignored_until_the_next_create(
    client: GraphQLClient, store: Store, user_id: str, change: str
) -> None:
    # Given a summarized project whose deploymentIds another program then changed
    project_id = await new_project(client)
    ids = [await finished(client, project_id) for _ in range(3)]
    if change == "added":
        ids = [*ids, (await written_elsewhere(store, user_id, project_id))["deploymentId"]]
    else:
        ids = ids[:-1]
    await store.dynamo.update_item(
        store.tables.projects,
        {"userId": user_id, "projectId": project_id},
        Expression("SET deploymentIds = :ids", values={":ids": ids}),
    )

    # When it is listed, then deployed
    listed = await client.execute(PROJECT, {"p": project_id})
    new = await deploy(client, project_id)

    # Then the listing followed deploymentIds, read by id; the create wrote a summary of them
    assert [d["id"] for d in listed["data"]["project"]["deployments"]] == ids[::-1]
    assert deployment_keys_read(store, listed) == [ids[::-1]]
    summary = await assert_summary_exact(store, user_id, project_id)
    assert [entry["deploymentId"] for entry in summary] == [new, *ids[::-1]]


async def test_status_filters_and_limits_past_the_summary_read_the_deployments(
    client: GraphQLClient,
    admin: GraphQLClient,
    store: Store,
    user_id: str,
    lower_quotas: Callable[..., None],
) -> None:
    # Given a project summarizing its newest 3 of 5 deployments, one of which succeeded
    lower_quotas(RECENT_DEPLOYMENTS=3)
    project_id = await new_project(client)
    ids = [await finished(client, project_id) for _ in range(2)]
    succeeded = await deploy(client, project_id)
    await move(admin, user_id, succeeded, "DEPLOYING")
    await move(admin, user_id, succeeded, "SUCCESS")
    ids += [succeeded, *[await finished(client, project_id) for _ in range(2)]]

    async def listing(**arguments: Any) -> tuple[list[str], list[list[str]]]:
        body = await client.execute(LISTING, {"p": project_id, **arguments})
        listed = [d["id"] for d in body["data"]["project"]["deployments"]]
        return listed, deployment_keys_read(store, body)

    # When listed within the summary, past it, and by status
    within, within_reads = await listing(limit=3)
    past, past_reads = await listing(limit=4)
    by_status, by_status_reads = await listing(status="SUCCESS")
    failed, _ = await listing(status="FAILED", limit=10)

    # Then only the listings the summary cannot answer read the deployments, and all are right
    assert (within, within_reads) == (ids[:1:-1], [])
    assert past == ids[:0:-1]
    assert past_reads == [ids[:0:-1]]
    assert by_status == [succeeded]
    assert by_status_reads == [ids[::-1]]
    assert failed == [id_ for id_ in ids[::-1] if id_ != succeeded]


async def test_a_status_filter_over_a_whole_history_in_the_summary_reads_no_deployment(
    client: GraphQLClient, store: Store
) -> None:
    project_id = await new_project(client)
    ids = [await finished(client, project_id) for _ in range(2)]

    body = await client.execute(LISTING, {"p": project_id, "status": "FAILED", "limit": 50})

    assert [d["id"] for d in body["data"]["project"]["deployments"]] == ids[::-1]
    assert deployment_keys_read(store, body) == []


async def test_a_create_from_a_read_of_the_project_before_another_create_loses_the_race(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    # Given a project read, then deployed again (far within the retention bound)
    project_id = await new_project(client)
    first = await finished(client, project_id)
    stale = await store.projects.get(user_id, project_id, consistent=True)
    assert stale is not None
    second = await finished(client, project_id)

    # When a create is written from the read before it
    late = pending(user_id, project_id)
    with pytest.raises(LostRace):
        await store.deployments.create(late, stale)

    # Then nothing was written: the summary is not the one the stale read would make
    assert await stored(store, user_id, late.deployment_id) is None
    summary = await assert_summary_exact(store, user_id, project_id)
    assert [entry["deploymentId"] for entry in summary] == [second, first]


class ActsAfterFirstBatchGet:
    """The real aioboto3 client, except that right after its first BatchGetItem it runs
    `meanwhile`: a write landing between a read and the write that relies on it."""

    def __init__(self, client: Any, meanwhile: Callable[[], Awaitable[Any]]) -> None:
        self._client = client
        self._meanwhile: Callable[[], Awaitable[Any]] | None = meanwhile

    async def batch_get_item(self, **params: Any) -> dict[str, Any]:
        response: dict[str, Any] = await self._client.batch_get_item(**params)
        if self._meanwhile is not None:
            meanwhile, self._meanwhile = self._meanwhile, None
            await meanwhile()
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


async def test_a_deployment_left_active_without_the_slot_is_never_summarized_by_a_create(
    client: GraphQLClient, admin: GraphQLClient, store: Store, user_id: str
) -> None:
    # Given a summarized project to which another program added a PENDING deployment without
    # its slot, which it moves on while a create reads the deployments to summarize them
    project_id = await new_project(client)
    first = await finished(client, project_id)
    other = (await written_elsewhere(store, user_id, project_id, "pending"))["deploymentId"]
    await store.dynamo.update_item(
        store.tables.projects,
        {"userId": user_id, "projectId": project_id},
        Expression("SET deploymentIds = list_append(deploymentIds, :id)", values={":id": [other]}),
    )

    async def moved_on() -> None:
        await move(admin, user_id, other, "DEPLOYING")

    racing = Store.on(ActsAfterFirstBatchGet(store.client, moved_on), store.tables)
    project = await store.projects.get(user_id, project_id, consistent=True)
    assert project is not None

    # When a deployment is created
    new = pending(user_id, project_id)
    await racing.deployments.create(new, project)

    # Then no summary was written, and listings read the deployments as they are
    assert "recentDeployments" not in await project_item(store, user_id, project_id)
    listed = (await client.data(PROJECT, {"p": project_id}))["project"]["deployments"]
    assert [(d["id"], d["status"]) for d in listed] == [
        (new.deployment_id, "PENDING"),
        (other, "DEPLOYING"),
        (first, "FAILED"),
    ]
    # and once they are finished, the next create summarizes them again
    for deployment_id in (new.deployment_id, other):
        await client.data(CANCEL_DEPLOYMENT, {"id": deployment_id})
    newest = await deploy(client, project_id)
    summary = await assert_summary_exact(store, user_id, project_id)
    assert [e["deploymentId"] for e in summary] == [newest, new.deployment_id, other, first]


async def test_a_limit_past_ten_reads_the_newest_by_id_and_ten_read_none(
    client: GraphQLClient, store: Store
) -> None:
    project_id = await new_project(client)
    ids = [await finished(client, project_id) for _ in range(12)]

    ten = await client.execute(LISTING, {"p": project_id, "limit": 10})
    eleven = await client.execute(LISTING, {"p": project_id, "limit": 11})

    assert [d["id"] for d in ten["data"]["project"]["deployments"]] == ids[:1:-1]
    assert deployment_keys_read(store, ten) == []
    assert [d["id"] for d in eleven["data"]["project"]["deployments"]] == ids[:0:-1]
    assert deployment_keys_read(store, eleven) == [ids[:0:-1]]
