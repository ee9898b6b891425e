"""A deployment's lifecycle: status changes with their log lines, for users, admins and the
deployment worker alike."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from server.changes import Changes
from server.errors import Conflict, NotFound
from server.models import Deployment, DeploymentStatus, StatusChange, is_key, iso_time
from server.models.deployment import LEASE, MAX_LOG_LINES, lease_until
from server.resolvers.lookup import existing
from server.store import Store, settle
from server.store.codec import item_size

__all__ = ["MAX_ITEM_BYTES", "change_status", "fit_logs"]

MAX_ITEM_BYTES = 400 * 1024 - 2048
MAX_LINE_CHARS = 2000
TIMESTAMPED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d")


async def change_status(
    store: Store,
    changes: Changes,
    user_id: str,
    deployment_id: str,
    change: StatusChange,
    *,
    note: str | None = None,
    only_from: DeploymentStatus | None = None,
    expected_version: int | None = None,
    lease: timedelta = LEASE,
) -> Deployment:
    """Move the deployment to `change.status` (PENDING → DEPLOYING → SUCCESS | FAILED, or
    PENDING/DEPLOYING → FAILED), appending its log lines; `CONFLICT` for any other move, or
    when the deployment is not in `only_from` or no longer at `expected_version`. Watchers on
    this instance are woken.

    Every change to DEPLOYING, log lines or none, renews the lease: it ends `leaseSeconds`
    (default `lease`) from now, written in the same conditional update."""
    if not is_key(user_id):
        raise NotFound("deployment", deployment_id)

    async def attempt() -> Deployment:
        old = await existing(store.deployments, user_id, deployment_id, "deployment")
        if not old.status.can_become(change.status) or only_from not in (None, old.status):
            raise Conflict(
                f"deployment {deployment_id!r} is {old.status.name}"
                f" and cannot become {change.status.name}"
            )
        if expected_version not in (None, old.version):
            raise Conflict(f"deployment {deployment_id!r} changed since it was read")
        moment = datetime.now(UTC)
        now = iso_time(moment)
        lines = [stamped(line, now) for line in change.append_logs]
        if note is not None:
            lines.append(f"{now} {note}")
        if change.status is not old.status:
            lines.append(
                f"{now} {change.status.value}" + (f": {change.error}" if change.error else "")
            )
        new = old.model_copy(
            update={
                "status": change.status,
                "error": change.error if change.error is not None else old.error,
                "logs": fit_logs(old, (old.logs or []) + lines),
                "version": old.version + 1,
                "updated_at": now,
                "lease_expires_at": (
                    lease_until(moment, change.lease_seconds or lease.total_seconds())
                    if change.status is DeploymentStatus.DEPLOYING
                    else None
                ),
            }
        )
        project = await store.projects.get(user_id, old.project_id, consistent=True)
        await store.deployments.change(old, new, project)
        return new

    deployment = await settle(attempt)
    changes.notify((user_id, deployment_id))
    return deployment


def stamped(line: str, now: str) -> str:
    """`line` with the time it was logged in front, unless it carries its own timestamp;
    cut to 2,000 characters (only lines of over 1,975 lose their end to the timestamp)."""
    if not TIMESTAMPED.match(line):
        line = f"{now} {line}"
    return line[:MAX_LINE_CHARS]


def fit_logs(deployment: Deployment, lines: list[str]) -> list[str]:
    """The newest lines that fit: at most 1,000, and within the item's 400 KB."""
    kept = lines[-MAX_LOG_LINES:]
    room = MAX_ITEM_BYTES - item_size(deployment.model_copy(update={"logs": []}).to_item())
    used = sum(len(line.encode()) + 1 for line in kept) + 3
    start = 0
    while used > room and start < len(kept):
        used -= len(kept[start].encode()) + 1
        start += 1
    return kept[start:]
