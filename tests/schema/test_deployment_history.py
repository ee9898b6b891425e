"""Listings of deployments read a bounded number of them, whatever the account's history: for
projects without a `recentDeployments` summary (written by other programs, or before it), the
newest by id from the projects' `deploymentIds` (BatchGetItem), never a Query of the
partition."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from asgi_lifespan import LifespanManager
from ulid import ULID as UniqueId

from server.app import create_app
from server.settings import Settings
from server.store import Store
from server.store.dynamo import Expression
from tests.conftest import GraphQLClient
from tests.documents import CREATE_PROJECT

HISTORY = {"input": {"name": "History"}}
LISTINGS = "{ projects { id latestDeployment { id } deployments(limit: 2) { id } } }"
SNAPSHOT_BYTES = 300_000  # four of them fill more than the 1 MB page of a Query


@pytest.fixture
async def debug_client(
    settings: Settings, store: Store, user_id: str
) -> AsyncIterator[GraphQLClient]:
    debugged = settings.model_copy(update={"debug_extensions": True})
    async with LifespanManager(create_app(debugged)) as manager:
        async with GraphQLClient.for_app(manager.app, user_id) as client:
            yield client


async def seed_history(
    store: Store, user_id: str, project_id: str, count: int, *, start: int, stale: bool = False
) -> list[str]:
    """`count` finished deployments with snapshots of `SNAPSHOT_BYTES`, created `start` minutes
    into 2025 and on, listed oldest first in the project's `deploymentIds` (then, if `stale`,
    the id of a newer one that has no item); returns the ids of those stored."""
    base = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(minutes=start)
    ids = [str(UniqueId.from_datetime(base + timedelta(minutes=n))) for n in range(count + 1)]
    stamp = base.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    items: list[dict[str, Any]] = [
        {
            "userId": user_id,
            "deploymentId": deployment_id,
            "projectId": project_id,
            "status": "success",
            "config": {"blob": "x" * SNAPSHOT_BYTES},
            "logs": [],
            "createdAt": stamp,
            "updatedAt": stamp,
        }
        for deployment_id in ids[:count]
    ]
    for item in items:
        await store.dynamo.batch_write(store.tables.deployments, puts=[item])
    await store.dynamo.update_item(
        store.tables.projects,
        {"userId": user_id, "projectId": project_id},
        Expression("SET deploymentIds = :ids", values={":ids": ids if stale else ids[:count]}),
    )
    return ids[:count]


async def long_history(client: GraphQLClient, store: Store, user_id: str) -> dict[str, list[str]]:
    """Three projects: 4 deployments with a stale id newest, 2 deployments, none; so the
    Deployments partition spans more than one page. Returns each project's ids, oldest first."""
    projects = [
        (await client.data(CREATE_PROJECT, HISTORY))["createProject"]["id"] for _ in range(3)
    ]
    first, second, third = projects
    return {
        first: await seed_history(store, user_id, first, 4, start=0, stale=True),
        second: await seed_history(store, user_id, second, 2, start=10),
        third: [],
    }


def deployment_calls(body: dict[str, Any]) -> list[str]:
    return [call for call in body["extensions"]["dynamodb"]["calls"] if "deploy" in call]


async def test_listings_of_a_long_history_without_summaries_read_only_the_newest_by_id(
    debug_client: GraphQLClient, store: Store, user_id: str
) -> None:
    # Given an account whose Deployments partition is more than one page, with no summaries
    history = await long_history(debug_client, store, user_id)

    # When every project's latest deployment and newest two are listed
    body = await debug_client.execute(LISTINGS)

    # Then they are the newest that exist, newest first (the stale id skipped)
    assert "errors" not in body
    listed = {p["id"]: p for p in body["data"]["projects"]}
    for project_id, ids in history.items():
        latest = listed[project_id]["latestDeployment"]
        assert (latest and latest["id"]) == (ids[-1] if ids else None)
        assert [d["id"] for d in listed[project_id]["deployments"]] == ids[::-1][:2]
    # and the Deployments table took a BatchGetItem of the 2 + 2 newest ids and one of the id
    # past the stale one, and no Query
    assert deployment_calls(body) == [
        f"BatchGetItem {store.tables.deployments}",
        f"BatchGetItem {store.tables.deployments}",
    ]


async def test_a_project_reached_from_a_deployment_lists_its_history_by_id(
    debug_client: GraphQLClient, store: Store, user_id: str
) -> None:
    # Given an account whose Deployments partition is more than one page
    history = await long_history(debug_client, store, user_id)
    project_id = next(iter(history))
    oldest, *_, newest = history[project_id]

    # When a deployment's project lists its latest, and the newest compares with the one before
    body = await debug_client.execute(
        "query($old: ID!, $new: ID!) {"
        " old: deployment(id: $old) { project { latestDeployment { id } } }"
        " new: deployment(id: $new) { changes { path } } }",
        {"old": oldest, "new": newest},
    )

    # Then both are answered from the deployments read by id, with no Query of the partition
    assert "errors" not in body
    assert body["data"]["old"]["project"]["latestDeployment"]["id"] == newest
    assert body["data"]["new"]["changes"] == []  # the same snapshot as the one before
    calls = deployment_calls(body)
    assert calls, body
    assert all(call.startswith("BatchGetItem") for call in calls), calls
