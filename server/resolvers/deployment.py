"""Deployments: create (from a snapshot), redeploy, cancel, move (admins), read, compare and
watch."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from server.deployments.diff import ConfigDifference, diff_snapshots
from server.deployments.lifecycle import change_status, fail_if_abandoned
from server.deployments.snapshot import snapshot, snapshot_line
from server.errors import Forbidden, NotFound, ProjectBusy
from server.models import (
    Deployment,
    DeploymentStatus,
    Project,
    StatusUpdate,
    is_key,
)
from server.store import LostRace, settle
from server.store.lookup import existing

if TYPE_CHECKING:
    from server.context import Context

__all__ = [
    "OWNER_ONLY_FIELDS",
    "cancel_deployment",
    "check_reach",
    "create_deployment",
    "deployment_differences",
    "redeploy",
    "get_deployment",
    "update_deployment_status",
    "watch_deployment",
]

# Fields of a deployment that reach beyond it into its owner's account: its project (and all
# below it), and `changes`, which reads the owner's other deployments.
OWNER_ONLY_FIELDS = ("project", "changes")


async def get_deployment(context: Context, deployment_id: str) -> Deployment | None:
    if not is_key(deployment_id):
        return None
    return await context.loaders.deployment_by_id.load((context.user_id, deployment_id))


async def create_deployment(context: Context, project_id: str) -> Deployment:
    """Snapshot the project's configuration into a new PENDING deployment."""
    project = await existing(context.store.projects, context.user_id, project_id, "project")
    taken = await snapshot(context.store, project)
    return await _start(context, project, taken.stored(), snapshot_line(taken))


async def redeploy(context: Context, deployment_id: str) -> Deployment:
    """Deploy an earlier deployment's snapshot again, as a new PENDING deployment."""
    user_id = context.user_id
    old = await existing(context.store.deployments, user_id, deployment_id, "deployment")
    project = await existing(context.store.projects, user_id, old.project_id, "project")
    line = f"pending: the snapshot of deployment {deployment_id} again"
    return await _start(context, project, old.config or {}, line)


async def _start(
    context: Context, project: Project, config: dict[str, Any], first_line: str
) -> Deployment:
    """Write a PENDING deployment of `config` and hand it to this instance's worker;
    `project` as just read (consistently)."""
    deployment = Deployment.pending(context.user_id, project.project_id, config, first_line)
    pruned = await _create(context, deployment, project)
    context.loaders.forget_deployment(
        deployment.user_id, deployment.deployment_id, deployment.project_id, pruned=pruned
    )
    if context.deployment_queue is not None:
        context.deployment_queue.submit(deployment.user_id, deployment.deployment_id)
    return deployment


async def _create(context: Context, deployment: Deployment, project: Project) -> list[str]:
    """`DeploymentStore.create`, retried with the project read again when another create
    changed its `deploymentIds` first, or once the slot of an abandoned deployment was taken
    over (once only: a new holder is live); returns the ids of the deployments pruned."""
    read: Project | None = project
    took_over = False

    async def attempt() -> list[str]:
        nonlocal read, took_over
        current = read
        if current is None:  # a retry reads the project again
            current = await existing(
                context.store.projects, deployment.user_id, deployment.project_id, "project"
            )
        read = None
        try:
            return await context.store.deployments.create(deployment, current)
        except ProjectBusy as busy:
            if took_over or not await _took_over(context, busy.deployment_id):
                raise
            took_over = True
            raise LostRace from None

    return await settle(attempt)


async def _took_over(context: Context, deployment_id: str) -> bool:
    """Whether the project's slot, held by `deployment_id`, may be taken: that deployment was
    abandoned (DEPLOYING, its lease ended) and is now failed, as the sweep fails it, so a
    stuck deployment never blocks a new one, whenever the sweep comes; or it has finished
    since. A PENDING one, or one whose lease is live, keeps the slot."""
    found = await context.store.deployments.summaries(
        [(context.user_id, deployment_id)], consistent=True
    )
    if not found or not found[0].status.is_active:
        return True  # finished (or deleted with its project) since: the retry answers
    failed = await fail_if_abandoned(context.store, context.notices, found[0], datetime.now(UTC))
    if failed:
        context.loaders.forget_deployment(context.user_id, deployment_id, found[0].project_id)
    return failed


def check_reach(context: Context, owner_id: str, fields: Iterable[str]) -> None:
    """`FORBIDDEN` when the caller asks another user's deployment (an admin's view, through
    `updateDeploymentStatus`) for a field that reaches the rest of that user's account: the
    admin sees the deployment's own fields, resolved in the owner's partition, and no more."""
    if owner_id == context.user_id:
        return
    if reached := [field for field in OWNER_ONLY_FIELDS if field in set(fields)]:
        raise Forbidden(
            f"{reached[0]}: an admin sees another user's deployment, not the rest of their"
            f" account; ask for the deployment's own fields ({', '.join(OWNER_ONLY_FIELDS)}"
            " are the owner's only)"
        )


async def deployment_differences(
    context: Context, deployment: Deployment, against_id: str | None
) -> list[ConfigDifference]:
    """What changed from `against_id` (default: the project's previous deployment) to
    `deployment`; everything is ADDED when there is nothing to compare with. Only the owner
    may ask, and both deployments are looked up in the owner's partition."""
    check_reach(context, deployment.user_id, ["changes"])
    user_id = deployment.user_id
    loaders = context.loaders
    if against_id is None:
        against_id = await _previous_id(context, deployment)
    against = None
    if against_id is not None:
        against = (
            await loaders.deployment_by_id.load((user_id, against_id))
            if is_key(against_id)
            else None
        )
        if against is None:
            raise NotFound("deployment", against_id)
    current = deployment
    if current.config is None:
        current = (
            await loaders.deployment_by_id.load((user_id, deployment.deployment_id)) or current
        )
    return diff_snapshots(against.config if against else None, current.config or {})


async def _previous_id(context: Context, deployment: Deployment) -> str | None:
    """The id of the project's newest deployment older than `deployment`, read among the
    newest of its `deploymentIds` down to the one before it, not its whole history."""
    key = (deployment.user_id, deployment.project_id)
    project = await context.loaders.project_by_id.load(key)
    ids = project.deployment_ids if project is not None else []
    # Down to the one before it, or all (at most 100) if the list does not hold it.
    count = (
        len(ids) - ids.index(deployment.deployment_id) + 1
        if deployment.deployment_id in ids
        else None
    )
    older = [
        d
        for d in await context.loaders.newest_deployments(key, count)
        if d.deployment_id < deployment.deployment_id
    ]
    return older[0].deployment_id if older else None


async def cancel_deployment(context: Context, deployment_id: str) -> Deployment:
    """Move a PENDING or DEPLOYING deployment to FAILED with error 'cancelled'."""
    update = StatusUpdate(status=DeploymentStatus.FAILED, error="cancelled")
    return await _move(
        context, context.user_id, deployment_id, update, note="cancelled by its owner"
    )


async def update_deployment_status(
    context: Context, user_id: str, deployment_id: str, update: StatusUpdate
) -> Deployment:
    """Admin only: move another user's deployment along its lifecycle, appending log lines."""
    context.require_admin()
    return await _move(context, user_id, deployment_id, update, note=None)


async def _move(
    context: Context, user_id: str, deployment_id: str, update: StatusUpdate, *, note: str | None
) -> Deployment:
    deployment = await change_status(
        context.store, context.notices, user_id, deployment_id, update, note=note
    )
    context.loaders.forget_deployment(
        deployment.user_id, deployment.deployment_id, deployment.project_id
    )
    return deployment


async def watch_deployment(context: Context, deployment_id: str) -> AsyncIterator[Deployment]:
    """The deployment now, then after every change, until it is SUCCESS or FAILED.

    Every subscription to one deployment on this instance shares one watcher
    (`server/deployments/watchers.py`); the caller's own partition is watched, so another
    user's deployment is NOT_FOUND. Refused past a subscription cap.
    """
    subscription = context.watchers.subscribe(
        context.user_id,
        deployment_id,
        connection=context.connection,
        on_drop=context.drop_connection,
    )
    try:
        async for deployment in subscription:
            yield deployment
    finally:
        subscription.close()
