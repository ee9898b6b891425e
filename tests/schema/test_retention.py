"""Retention: a project keeps its newest `DEPLOYMENTS_PER_PROJECT` deployments; the create past
that bound deletes the oldest in its own transaction, so `deploymentIds` stays exact."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from server.errors import ProjectBusy
from server.models import Deployment, DeploymentStatus, Project, new_id, now_iso
from server.store import LostRace, Store
from server.store.deployments import MAX_PRUNED_PER_CREATE
from server.store.dynamo import Expression
from tests.conftest import GraphQLClient
from tests.documents import CREATE_DEPLOYMENT, REDEPLOY
from tests.schema.test_deployment import (
    CANCEL,
    deploy,
    listing,
    new_project,
    seed_finished_deployments,
    stored,
)

BOUND = 3
GET = "query($id: ID!) { deployment(id: $id) { id } }"


@pytest.fixture(autouse=True)
def bound(lower_quotas: Callable[..., None]) -> None:
    lower_quotas(DEPLOYMENTS_PER_PROJECT=BOUND)


async def finished(client: GraphQLClient, project_id: str) -> str:
    """A new deployment of the project, cancelled (FAILED) at once."""
    deployment_id: str = (await deploy(client, project_id))["id"]
    await client.data(CANCEL, {"id": deployment_id})
    return deployment_id


async def project_of(store: Store, user_id: str, project_id: str) -> Project:
    project = await store.projects.get(user_id, project_id, consistent=True)
    assert project is not None
    return project


async def deployment_ids(store: Store, user_id: str, project_id: str) -> list[str]:
    return (await project_of(store, user_id, project_id)).deployment_ids


async def existing_ids(store: Store, user_id: str, ids: list[str]) -> list[str]:
    return [id_ for id_ in ids if await stored(store, user_id, id_) is not None]


def pending(user_id: str, project_id: str) -> Deployment:
    now = now_iso()
    return Deployment(
        user_id=user_id,
        deployment_id=new_id(),
        project_id=project_id,
        status=DeploymentStatus.PENDING,
        config={},
        logs=[],
        created_at=now,
        updated_at=now,
    )


async def test_the_deployment_past_the_bound_deletes_the_oldest_and_drops_its_id(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    # Given a project at the bound
    project_id = await new_project(client)
    kept = [await finished(client, project_id) for _ in range(BOUND)]

    # When one more is created
    newest = (await deploy(client, project_id))["id"]

    # Then the oldest is gone, item and id, and the rest are intact
    oldest, rest = kept[0], kept[1:]
    assert await stored(store, user_id, oldest) is None
    assert await deployment_ids(store, user_id, project_id) == [*rest, newest]
    assert await existing_ids(store, user_id, rest) == rest
    project = await listing(client, project_id, limit=100)
    assert [d["id"] for d in project["deployments"]] == [newest, *rest[::-1]]
    assert project["deploymentIds"] == [*rest, newest]


async def test_a_pruned_deployment_is_not_found_and_cannot_be_redeployed(
    client: GraphQLClient,
) -> None:
    project_id = await new_project(client)
    oldest = await finished(client, project_id)
    for _ in range(BOUND):
        await finished(client, project_id)

    error = await client.error(REDEPLOY, {"id": oldest})
    found = await client.data(GET, {"id": oldest})

    assert error["extensions"]["code"] == "NOT_FOUND"
    assert found == {"deployment": None}


async def test_a_project_over_the_bound_shrinks_by_a_bounded_number_with_each_create(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    # Given a project holding more than the bound (written before retention)
    project_id = await new_project(client)
    over = BOUND + MAX_PRUNED_PER_CREATE + 4
    seeded = await seed_finished_deployments(store, user_id, project_id, over)

    # When deployments are created, one after the other
    first = await finished(client, project_id)
    after_first = await deployment_ids(store, user_id, project_id)
    second = await finished(client, project_id)
    after_second = await deployment_ids(store, user_id, project_id)

    # Then each deletes at most MAX_PRUNED_PER_CREATE of the oldest, until the bound holds
    assert after_first == [*seeded[MAX_PRUNED_PER_CREATE:], first]
    assert after_second == [*seeded[-(BOUND - 2) :], first, second]
    assert await existing_ids(store, user_id, seeded) == seeded[-(BOUND - 2) :]


async def test_a_listed_deployment_that_is_still_active_is_never_pruned(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    # Given a project at the bound whose oldest deployment is PENDING without holding the slot
    # (written by another program)
    project_id = await new_project(client)
    seeded = await seed_finished_deployments(store, user_id, project_id, BOUND)
    await store.dynamo.update_item(
        store.tables.deployments,
        {"userId": user_id, "deploymentId": seeded[0]},
        Expression("SET #status = :pending", {"#status": "status"}, {":pending": "pending"}),
    )

    # When a deployment is created
    error = await client.error(CREATE_DEPLOYMENT, {"projectId": project_id})

    # Then it is refused as the project's active deployment, and nothing changed
    assert error["extensions"]["code"] == "CONFLICT"
    assert seeded[0] in error["message"]
    assert await existing_ids(store, user_id, seeded) == seeded
    project = await project_of(store, user_id, project_id)
    assert (project.deployment_ids, project.active_deployment_id) == (seeded, None)

    # And once it is cancelled, the next create prunes it
    await client.data(CANCEL, {"id": seeded[0]})
    newest = (await deploy(client, project_id))["id"]
    assert await deployment_ids(store, user_id, project_id) == [*seeded[1:], newest]


async def test_an_id_whose_deployment_is_missing_is_dropped_when_pruned(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    project_id = await new_project(client)
    seeded = await seed_finished_deployments(store, user_id, project_id, BOUND)
    await store.dynamo.delete_item(
        store.tables.deployments, {"userId": user_id, "deploymentId": seeded[0]}
    )

    newest = (await deploy(client, project_id))["id"]

    assert await deployment_ids(store, user_id, project_id) == [*seeded[1:], newest]


@pytest.mark.parametrize("listed", [BOUND - 1, BOUND], ids=["appending", "pruning"])
async def test_a_create_from_a_stale_read_of_the_project_loses_the_race_and_writes_nothing(
    client: GraphQLClient, store: Store, user_id: str, listed: int
) -> None:
    # Given a project read, then changed by another create (since finished)
    project_id = await new_project(client)
    await seed_finished_deployments(store, user_id, project_id, listed)
    stale = await project_of(store, user_id, project_id)
    await finished(client, project_id)
    current = await project_of(store, user_id, project_id)

    # When a create is written from the stale read
    late = pending(user_id, project_id)
    with pytest.raises(LostRace):
        await store.deployments.create(late, stale)

    # Then nothing was written; from a fresh read it succeeds, within the bound
    assert await stored(store, user_id, late.deployment_id) is None
    assert await project_of(store, user_id, project_id) == current
    await store.deployments.create(late, current)
    after = await deployment_ids(store, user_id, project_id)
    assert after == [*current.deployment_ids[-(BOUND - 1) :], late.deployment_id]


async def test_a_create_while_the_slot_is_held_prunes_nothing(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    project_id = await new_project(client)
    seeded = await seed_finished_deployments(store, user_id, project_id, BOUND - 1)
    active = (await deploy(client, project_id))["id"]
    project = await project_of(store, user_id, project_id)

    with pytest.raises(ProjectBusy):
        await store.deployments.create(pending(user_id, project_id), project)

    ids = [*seeded, active]
    assert await deployment_ids(store, user_id, project_id) == ids
    assert await existing_ids(store, user_id, ids) == ids
