"""Leases and the sweep: abandoned deployments are failed on a timer, however busy the server;
deployments whose deployer is alive (the worker's heartbeat, a pipeline's updates) are not."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from asgi_lifespan import LifespanManager
from starlette.types import ASGIApp

from server.app import create_app
from server.builtin_catalog import BuiltinCatalog
from server.deployments.lifecycle import change_status
from server.deployments.notices import DeploymentNotices
from server.deployments.sweeper import INTERRUPTED, Sweeper
from server.deployments.worker import Deployer, DeploymentWorker, Log, ValidatingDeployer
from server.errors import Conflict
from server.models import Deployment, DeploymentStatus, Snapshot, StatusUpdate, iso_time
from server.settings import Settings
from server.store import Store, instrument
from server.store.dynamo import Expression
from server.store.tables import TableNames
from tests.conftest import GraphQLClient
from tests.deployments.test_worker import project
from tests.documents import (
    CANCEL_DEPLOYMENT,
    CREATE_DEPLOYMENT,
    REDEPLOY,
    UPDATE_DEPLOYMENT_STATUS,
)
from tests.store.test_cascade import partition, usage_is_exact
from tests.summaries import assert_summary_exact

LEASE = timedelta(seconds=1.2)
SWEEP = 0.1
WAIT = 10.0  # the most any wait below may take before the test fails


@pytest.fixture(scope="module")
async def own(settings: Settings, store: Store) -> Settings:
    """Tables of their own: a sweep reads every project's active deployment, and the shared
    tables hold many deployments other tests left PENDING or DEPLOYING on purpose. The app's
    own sweep waits an hour between passes: what is swept here, a test sweeps itself."""
    prefix = f"{settings.table_prefix}sweep-"
    tables = Store.on(store.client, TableNames.with_prefix(prefix))
    await tables.create_tables()
    await tables.seed_builtin_tools()
    return settings.model_copy(update={"table_prefix": prefix, "deployment_sweep_seconds": 3600})


@pytest.fixture(scope="module")
def own_store(own: Settings, store: Store) -> Store:
    return Store.on(store.client, TableNames.with_prefix(own.table_prefix))


@pytest.fixture(scope="module")
async def own_app(own: Settings) -> AsyncIterator[ASGIApp]:
    async with LifespanManager(create_app(own)) as manager:
        yield manager.app


@pytest.fixture
async def owner(own_app: ASGIApp, user_id: str) -> AsyncIterator[GraphQLClient]:
    async with GraphQLClient.for_app(own_app, user_id) as client:
        yield client


@pytest.fixture
async def pipeline(own_app: ASGIApp) -> AsyncIterator[GraphQLClient]:
    async with GraphQLClient.for_app(own_app, f"pipeline-{uuid.uuid4().hex[:8]}", "admin") as c:
        yield c


class Blocking:
    """A deployer that works, logging nothing, until released (or for `seconds`)."""

    def __init__(self, seconds: float | None = None) -> None:
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.seconds = seconds

    async def deploy(self, snapshot: Snapshot, log: Log) -> None:
        self.started.set()
        try:
            await asyncio.wait_for(self.release.wait(), self.seconds)
        except TimeoutError:
            pass  # worked silently for `seconds`: done


def worker(store: Store, changes: DeploymentNotices, deployer: Deployer) -> DeploymentWorker:
    return DeploymentWorker(store, changes, deployer, lease=LEASE)


async def new_deployment(client: GraphQLClient, project_id: str | None = None) -> tuple[str, str]:
    """A PENDING deployment of a deployable project: (project id, deployment id)."""
    project_id = project_id or await project(client)
    created = await client.data(CREATE_DEPLOYMENT, {"projectId": project_id})
    deployment_id = created["createDeployment"]["id"]
    return project_id, deployment_id


async def status_becomes(
    store: Store,
    changes: DeploymentNotices,
    user_id: str,
    deployment_id: str,
    status: DeploymentStatus,
) -> Deployment:
    """The deployment once it has `status`, woken by notices, checking at least every 0.1 s."""
    async with asyncio.timeout(WAIT):
        while True:
            deployment = await store.deployments.get(user_id, deployment_id, consistent=True)
            assert deployment is not None
            if deployment.status is status:
                return deployment
            await changes.wait((user_id, deployment_id), seconds=0.1)


async def stopped(*tasks: asyncio.Task[None]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_a_deployment_left_deploying_by_a_crashed_instance_is_failed_while_the_worker_is_busy(
    owner: GraphQLClient, own_store: Store, user_id: str
) -> None:
    changes = DeploymentNotices()
    # Given a deployment claimed by an instance that then crashed mid-deploy
    stuck_project, stuck = await new_deployment(owner)
    crashed = Blocking()
    crashing = asyncio.create_task(worker(own_store, changes, crashed).process(user_id, stuck))
    await asyncio.wait_for(crashed.started.wait(), WAIT)
    await stopped(crashing)
    # and a live instance kept busy by a stream of submissions
    busy = Blocking()
    live = worker(own_store, changes, busy)
    stream = [(await new_deployment(owner))[1] for _ in range(4)]
    for deployment_id in stream:
        live.submit(user_id, deployment_id)
    sweeper = Sweeper(own_store, changes, interval=SWEEP, resume=live.submit)
    tasks = [asyncio.create_task(live.run()), asyncio.create_task(sweeper.run())]
    try:
        await asyncio.wait_for(busy.started.wait(), WAIT)

        # When its lease ends, then it is failed while the live worker is still busy
        failed = await status_becomes(own_store, changes, user_id, stuck, DeploymentStatus.FAILED)
        first = await own_store.deployments.get(user_id, stream[0], consistent=True)
        queued = await own_store.deployments.get(user_id, stream[-1], consistent=True)
        assert not busy.release.is_set()
    finally:
        busy.release.set()
        await stopped(*tasks)
        for deployment_id in stream:
            await owner.execute(CANCEL_DEPLOYMENT, {"id": deployment_id})

    assert failed.error == INTERRUPTED
    assert failed.lease_expires_at is None
    assert first is not None
    assert first.status is DeploymentStatus.DEPLOYING
    assert queued is not None
    assert queued.status is DeploymentStatus.PENDING
    again = (await owner.data(CREATE_DEPLOYMENT, {"projectId": stuck_project}))["createDeployment"]
    assert again["status"] == "PENDING"
    await owner.data(CANCEL_DEPLOYMENT, {"id": again["id"]})


async def test_a_deployer_working_silently_past_its_lease_is_not_failed_while_its_worker_lives(
    owner: GraphQLClient, own_store: Store, user_id: str
) -> None:
    changes = DeploymentNotices()
    _, deployment_id = await new_deployment(owner)
    sweeper = Sweeper(own_store, changes, interval=SWEEP)
    sweeping = asyncio.create_task(sweeper.run())
    working_for = 3 * LEASE.total_seconds()
    try:
        sweeps_before = sweeper.sweeps

        await worker(own_store, changes, Blocking(seconds=working_for)).process(
            user_id, deployment_id
        )

        sweeps_during = sweeper.sweeps - sweeps_before
    finally:
        await stopped(sweeping)

    deployment = await own_store.deployments.get(user_id, deployment_id, consistent=True)
    assert deployment is not None
    assert (deployment.status, deployment.error) == (DeploymentStatus.SUCCESS, None)
    assert sweeps_during >= 5  # the sweep looked many times after the first lease had ended


async def test_an_external_pipeline_that_heartbeats_keeps_its_deployment_one_that_stops_loses_it(
    owner: GraphQLClient, pipeline: GraphQLClient, own_store: Store, user_id: str
) -> None:
    changes = DeploymentNotices()
    _, beating = await new_deployment(owner)
    silent_project, silent = await new_deployment(owner)
    beat = {"userId": user_id, "id": beating, "status": "DEPLOYING", "leaseSeconds": 3}
    await pipeline.data(UPDATE_DEPLOYMENT_STATUS, beat)
    await pipeline.data(UPDATE_DEPLOYMENT_STATUS, {**beat, "id": silent, "leaseSeconds": 1})
    stop = asyncio.Event()

    async def heartbeat() -> None:
        """A pipeline's: DEPLOYING with no log lines, every 0.25 s until stopped."""
        while not stop.is_set():
            await pipeline.data(UPDATE_DEPLOYMENT_STATUS, beat)
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.25)

    sweeper = Sweeper(own_store, changes, interval=SWEEP)
    tasks = [asyncio.create_task(sweeper.run()), asyncio.create_task(heartbeat())]
    try:
        # While one pipeline sends heartbeats and the other is silent
        lost = await status_becomes(own_store, changes, user_id, silent, DeploymentStatus.FAILED)
        kept = await own_store.deployments.get(user_id, beating, consistent=True)

        # And once it stops too
        stop.set()
        await tasks.pop()
        stopped_beating = await status_becomes(
            own_store, changes, user_id, beating, DeploymentStatus.FAILED
        )
    finally:
        await stopped(*tasks)

    assert lost.error == INTERRUPTED
    assert kept is not None
    assert kept.status is DeploymentStatus.DEPLOYING
    assert stopped_beating.error == INTERRUPTED
    again = (await owner.data(CREATE_DEPLOYMENT, {"projectId": silent_project}))["createDeployment"]
    assert again["status"] == "PENDING"
    await owner.data(CANCEL_DEPLOYMENT, {"id": again["id"]})


async def test_the_lease_is_stored_while_deploying_and_removed_when_finished(
    owner: GraphQLClient, pipeline: GraphQLClient, own_store: Store, user_id: str
) -> None:
    _, deployment_id = await new_deployment(owner)
    before = datetime.now(UTC)

    await pipeline.data(
        UPDATE_DEPLOYMENT_STATUS,
        {"userId": user_id, "id": deployment_id, "status": "DEPLOYING", "leaseSeconds": 1800},
    )
    deploying = await own_store.deployments.get(user_id, deployment_id, consistent=True)
    await pipeline.data(
        UPDATE_DEPLOYMENT_STATUS, {"userId": user_id, "id": deployment_id, "status": "SUCCESS"}
    )
    finished = await own_store.dynamo.get_item(
        own_store.tables.deployments, own_store.deployments.key(user_id, deployment_id)
    )

    assert deploying is not None
    assert deploying.lease_expires_at is not None
    lease_ends = datetime.fromisoformat(deploying.lease_expires_at)
    assert before + timedelta(seconds=1799) < lease_ends < before + timedelta(seconds=1810)
    assert finished is not None
    assert "leaseExpiresAt" not in finished


@pytest.mark.parametrize(
    ("status", "lease", "message"),
    [
        ("DEPLOYING", 0, "greater than or equal to 1"),
        ("DEPLOYING", 3601, "less than or equal to 3600"),
        ("SUCCESS", 60, "only a DEPLOYING deployment holds a lease"),
    ],
)
async def test_a_lease_out_of_bounds_or_on_a_finish_is_bad_user_input_and_changes_nothing(
    owner: GraphQLClient,
    pipeline: GraphQLClient,
    own_store: Store,
    user_id: str,
    status: str,
    lease: int,
    message: str,
) -> None:
    _, deployment_id = await new_deployment(owner)
    before = await own_store.deployments.get(user_id, deployment_id, consistent=True)

    error = await pipeline.error(
        UPDATE_DEPLOYMENT_STATUS,
        {"userId": user_id, "id": deployment_id, "status": status, "leaseSeconds": lease},
    )

    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == "leaseSeconds"
    assert message in error["message"]
    assert await own_store.deployments.get(user_id, deployment_id, consistent=True) == before
    await owner.data(CANCEL_DEPLOYMENT, {"id": deployment_id})


async def test_a_renewal_landing_between_the_sweeps_read_and_its_write_wins(
    owner: GraphQLClient, pipeline: GraphQLClient, own_store: Store, user_id: str
) -> None:
    _, deployment_id = await new_deployment(owner)
    await pipeline.data(
        UPDATE_DEPLOYMENT_STATUS, {"userId": user_id, "id": deployment_id, "status": "DEPLOYING"}
    )
    read = await own_store.deployments.get(user_id, deployment_id, consistent=True)
    assert read is not None
    await pipeline.data(
        UPDATE_DEPLOYMENT_STATUS, {"userId": user_id, "id": deployment_id, "status": "DEPLOYING"}
    )

    with pytest.raises(Conflict, match="changed since it was read"):
        await change_status(
            own_store,
            DeploymentNotices(),
            user_id,
            deployment_id,
            StatusUpdate(status=DeploymentStatus.FAILED, error=INTERRUPTED),
            only_from=DeploymentStatus.DEPLOYING,
            expected_version=read.version,
        )

    kept = await own_store.deployments.get(user_id, deployment_id, consistent=True)
    assert kept is not None
    assert kept.status is DeploymentStatus.DEPLOYING
    await owner.data(CANCEL_DEPLOYMENT, {"id": deployment_id})


async def left(store: Store, user_id: str, project_id: str, status: str, updated: str) -> str:
    """A deployment as a stopped process, or a program from before leases, leaves it: no
    `leaseExpiresAt`, last updated at `updated`, holding its project's active slot (as every
    PENDING or DEPLOYING deployment has since deployments exist)."""
    deployment_id = f"01LEFT{uuid.uuid4().hex[:20].upper()}"
    await store.dynamo.update_item(
        store.tables.projects,
        {"userId": user_id, "projectId": project_id},
        Expression("SET activeDeploymentId = :id", values={":id": deployment_id}),
        condition=Expression("attribute_not_exists(activeDeploymentId)"),
    )
    item: dict[str, Any] = Deployment(
        user_id=user_id,
        deployment_id=deployment_id,
        project_id=project_id,
        status=DeploymentStatus(status),
        config={"project": {"id": project_id}},
        logs=[],
        created_at=updated,
        updated_at=updated,
    ).to_item()
    await store.dynamo.put_item(store.tables.deployments, item)
    return deployment_id


async def test_a_restart_fails_deployments_from_before_leases_by_updated_at_and_resumes_pending(
    owner: GraphQLClient, own_store: Store, user_id: str
) -> None:
    long_ago = "2026-01-01T00:00:00.000Z"
    stuck = await left(own_store, user_id, await project(owner), "deploying", long_ago)
    recent_project = await project(owner)
    recent = await left(
        own_store, user_id, recent_project, "deploying", iso_time(datetime.now(UTC))
    )
    waiting = await left(own_store, user_id, await project(owner), "pending", long_ago)
    changes = DeploymentNotices()
    catalog = BuiltinCatalog(own_store.builtin_tools, ttl_seconds=0)
    restarted = DeploymentWorker(own_store, changes, ValidatingDeployer(catalog))

    await Sweeper(own_store, changes, resume=restarted.submit).sweep()
    await restarted.drain()

    interrupted = await own_store.deployments.get(user_id, stuck, consistent=True)
    alive = await own_store.deployments.get(user_id, recent, consistent=True)
    resumed = await own_store.deployments.get(user_id, waiting, consistent=True)
    assert interrupted is not None
    assert interrupted.error == INTERRUPTED
    assert alive is not None
    assert alive.status is DeploymentStatus.DEPLOYING
    assert resumed is not None
    assert resumed.status is DeploymentStatus.FAILED
    assert resumed.error == "the project has no main config"  # its snapshot has none
    await owner.data(CANCEL_DEPLOYMENT, {"id": recent})


async def abandoned(store: Store, user_id: str, deployment_id: str) -> Deployment:
    """Claim the PENDING deployment as a worker that then stopped would have, a lease ago:
    DEPLOYING, its lease ended a second ago."""
    return await change_status(
        store,
        DeploymentNotices(),
        user_id,
        deployment_id,
        StatusUpdate(status=DeploymentStatus.DEPLOYING),
        note="claimed by a worker that stopped",
        lease=timedelta(seconds=-1),
    )


async def test_a_sweep_fails_an_abandoned_deployment_without_scanning_the_deployments_table(
    owner: GraphQLClient, own_store: Store, user_id: str
) -> None:
    # Given a deployment whose lease has ended, beside one that finished
    _, stuck = await new_deployment(owner)
    await abandoned(own_store, user_id, stuck)
    _, finished = await new_deployment(owner)
    await owner.data(CANCEL_DEPLOYMENT, {"id": finished})

    # When the sweep passes
    with instrument.track() as tally:
        await Sweeper(own_store, DeploymentNotices()).sweep()

    # Then it is failed, found through the Projects table: the Deployments table is only read
    # by key, never Scanned
    failed = await own_store.deployments.get(user_id, stuck, consistent=True)
    assert failed is not None
    assert (failed.status, failed.error) == (DeploymentStatus.FAILED, INTERRUPTED)
    deployments, projects = own_store.tables.deployments, own_store.tables.projects
    scans = [call for call in tally.calls if call.startswith("Scan ")]
    assert scans == [f"Scan {projects} projecting 4"]
    assert f"BatchGetItem {deployments}" in tally.calls


async def test_a_sweep_failing_an_abandoned_deployment_keeps_its_projects_summary_exact(
    owner: GraphQLClient, own_store: Store, user_id: str
) -> None:
    # Given a project whose older deployment finished and whose newest was abandoned
    project_id, older = await new_deployment(owner)
    await owner.data(CANCEL_DEPLOYMENT, {"id": older})
    _, stuck = await new_deployment(owner, project_id)
    await abandoned(own_store, user_id, stuck)

    # When the sweep fails it
    await Sweeper(own_store, DeploymentNotices()).sweep()

    # Then the project's summary lists both as their items are
    newest, _ = await assert_summary_exact(own_store, user_id, project_id)
    assert (newest["deploymentId"], newest["status"], newest["error"]) == (
        stuck,
        "failed",
        INTERRUPTED,
    )


async def test_a_sweep_hands_a_pending_deployment_left_behind_to_the_worker(
    owner: GraphQLClient, own_store: Store, user_id: str
) -> None:
    _, waiting = await new_deployment(owner)
    _, stuck = await new_deployment(owner)
    await abandoned(own_store, user_id, stuck)
    resumed: list[tuple[str, str]] = []

    await Sweeper(own_store, DeploymentNotices(), resume=lambda *key: resumed.append(key)).sweep()

    assert (user_id, waiting) in resumed
    assert (user_id, stuck) not in resumed
    await owner.data(CANCEL_DEPLOYMENT, {"id": waiting})


async def before_leases(store: Store, user_id: str, deployment_id: str) -> Deployment:
    """Rewrite the PENDING deployment as one a program from before leases left DEPLOYING long
    ago: no `leaseExpiresAt`, `updatedAt` far past."""
    await store.dynamo.update_item(
        store.tables.deployments,
        store.deployments.key(user_id, deployment_id),
        Expression(
            "SET #status = :deploying, updatedAt = :long_ago",
            {"#status": "status"},
            {":deploying": "deploying", ":long_ago": "2026-01-01T00:00:00.000Z"},
        ),
    )
    deployment = await store.deployments.get(user_id, deployment_id, consistent=True)
    assert deployment is not None
    return deployment


@pytest.mark.parametrize("leave", [abandoned, before_leases], ids=["lease ended", "no lease"])
@pytest.mark.parametrize("mutation", ["createDeployment", "redeploy"])
async def test_a_new_deployment_takes_the_slot_of_an_abandoned_one_at_once(
    owner: GraphQLClient, own_store: Store, user_id: str, leave: Any, mutation: str
) -> None:
    # Given a project whose active deployment was abandoned, and no sweep for an hour
    project_id, stuck = await new_deployment(owner)
    await leave(own_store, user_id, stuck)

    # When its owner deploys it again
    if mutation == "createDeployment":
        new = (await owner.data(CREATE_DEPLOYMENT, {"projectId": project_id}))["createDeployment"]
    else:
        new = (await owner.data(REDEPLOY, {"id": stuck}))["redeploy"]

    # Then the new deployment is PENDING and the abandoned one failed as the sweep fails it
    assert new["status"] == "PENDING"
    old = await own_store.deployments.get(user_id, stuck, consistent=True)
    assert old is not None
    assert (old.status, old.error, old.lease_expires_at) == (
        DeploymentStatus.FAILED,
        INTERRUPTED,
        None,
    )
    stored = await own_store.projects.get(user_id, project_id, consistent=True)
    assert stored is not None
    assert stored.active_deployment_id == new["id"]
    await owner.data(CANCEL_DEPLOYMENT, {"id": new["id"]})


async def live(store: Store, user_id: str, deployment_id: str) -> Deployment:
    """Claim the PENDING deployment as a live worker does: DEPLOYING, a lease of 60 s."""
    return await change_status(
        store,
        DeploymentNotices(),
        user_id,
        deployment_id,
        StatusUpdate(status=DeploymentStatus.DEPLOYING),
    )


async def pending(store: Store, user_id: str, deployment_id: str) -> Deployment:
    deployment = await store.deployments.get(user_id, deployment_id, consistent=True)
    assert deployment is not None
    return deployment


@pytest.mark.parametrize("hold", [live, pending], ids=["live lease", "pending"])
async def test_a_new_deployment_is_a_conflict_while_the_active_one_is_pending_or_leased(
    owner: GraphQLClient, own_store: Store, user_id: str, hold: Any
) -> None:
    project_id, active = await new_deployment(owner)
    before = await hold(own_store, user_id, active)

    error = await owner.error(CREATE_DEPLOYMENT, {"projectId": project_id})

    assert error["extensions"]["code"] == "CONFLICT"
    assert f"already has an active deployment {active!r}" in error["message"]
    assert await own_store.deployments.get(user_id, active, consistent=True) == before
    await owner.data(CANCEL_DEPLOYMENT, {"id": active})


async def test_a_sweep_finishes_a_cascade_a_stopped_process_left_and_leaves_a_running_one(
    owner: GraphQLClient, own_store: Store, user_id: str
) -> None:
    # Given two projects with a tool and an agent each, marked `deleting` as a cascade or a
    # stepped import marks them: one by a process that stopped an hour ago, one just now
    stalled, running = await project(owner), await project(owner)
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    await own_store.projects.mark_deleting(user_id, stalled, now=iso_time(an_hour_ago))
    await own_store.projects.mark_deleting(user_id, running, now=iso_time(datetime.now(UTC)))

    # When the sweep passes
    await Sweeper(own_store, DeploymentNotices()).sweep()

    # Then the stalled project left nothing in any table, and its account counts it no more;
    # the running one is left to the process marking it
    rows = await partition(own_store, user_id)
    held = {
        item.get("projectId") or item.get("reservedFor")
        for items in rows.values()
        for item in items
    }
    assert stalled not in held
    assert running in held
    usage = await usage_is_exact(own_store, user_id)
    assert usage is not None
    assert usage["projects"] == 1
