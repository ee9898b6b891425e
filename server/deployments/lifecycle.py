"""A deployment's lifecycle: status changes with their log lines, for users, admins and the
deployment worker alike."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta

from server.deployments.notices import DeploymentNotices
from server.errors import Conflict, NotFound
from server.models import Deployment, DeploymentStatus, StatusUpdate, is_key, iso_time
from server.models.deployment import LEASE, MAX_LOG_LINES, lease_until
from server.store import Store, settle
from server.store.codec import item_size
from server.store.lookup import existing

__all__ = ["INTERRUPTED", "MAX_ITEM_BYTES", "change_status", "fail_if_abandoned", "fit_logs"]

logger = logging.getLogger(__name__)

INTERRUPTED = "interrupted: nothing renewed its lease (its deployer stopped); deploy again"

# DynamoDB refuses an item over 400 KB (409,600 bytes) as it counts them, the item after an
# update counted once; `item_size` never undercounts, and this leaves 9,600 bytes more.
MAX_ITEM_BYTES = 400_000
MAX_LINE_CHARS = 2000
TIMESTAMPED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d")
# What the pipeline's text may not carry as is, each written out (ESC as `\x1b`): control
# characters (no terminal escapes; a log line is one line, an error may have line breaks) and
# bidirectional embeddings, overrides and isolates. Pipelines print such things; refusing them
# would lose a status change.
UNPRINTABLE_IN_LINE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
UNPRINTABLE_IN_ERROR = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]"
)


async def change_status(
    store: Store,
    notices: DeploymentNotices,
    user_id: str,
    deployment_id: str,
    update: StatusUpdate,
    *,
    note: str | None = None,
    only_from: DeploymentStatus | None = None,
    expected_version: int | None = None,
    lease: timedelta = LEASE,
) -> Deployment:
    """Move the deployment to `update.status` (PENDING → DEPLOYING → SUCCESS | FAILED, or
    PENDING/DEPLOYING → FAILED), appending its log lines; `CONFLICT` for any other move, or
    when the deployment is not in `only_from` or no longer at `expected_version`. Watchers on
    this instance are woken.

    Every change to DEPLOYING, log lines or none, renews the lease: it ends `leaseSeconds`
    (default `lease`) from now, written in the same conditional update."""
    if not is_key(user_id):
        raise NotFound("deployment", deployment_id)

    async def attempt() -> Deployment:
        old = await existing(store.deployments, user_id, deployment_id, "deployment")
        if not old.status.can_become(update.status) or only_from not in (None, old.status):
            raise Conflict(
                f"deployment {deployment_id!r} is {old.status.name}"
                f" and cannot become {update.status.name}"
            )
        if expected_version not in (None, old.version):
            raise Conflict(f"deployment {deployment_id!r} changed since it was read")
        new = _moved(old, update, note, datetime.now(UTC), lease)
        project = await store.projects.get(user_id, old.project_id, consistent=True)
        await store.deployments.change(old, new, project)
        return new

    deployment = await settle(attempt)
    notices.notify((user_id, deployment_id))
    return deployment


async def fail_if_abandoned(
    store: Store, notices: DeploymentNotices, deployment: Deployment, now: datetime
) -> bool:
    """Fail `deployment` with `INTERRUPTED` if, as it was read, it is DEPLOYING with a lease
    that ended before `now`; True if it was failed here.

    The write holds only while the deployment is still at the version read, so a renewal (or
    a finish, or a cancel) that lands first wins, and False says so. The sweep and a create
    that finds its project's slot held both end abandoned deployments this way."""
    if not deployment.lease_ended(now):
        return False
    try:
        await change_status(
            store,
            notices,
            deployment.user_id,
            deployment.deployment_id,
            StatusUpdate(status=DeploymentStatus.FAILED, error=INTERRUPTED),
            only_from=DeploymentStatus.DEPLOYING,
            expected_version=deployment.version,
        )
    except (Conflict, NotFound):
        return False  # renewed, finished, cancelled or deleted since it was read
    logger.info(
        "deployment %s failed: its lease ended at %s",
        deployment.deployment_id,
        deployment.lease_expires_at or f"{deployment.updated_at} + the lease",
    )
    return True


def _moved(
    old: Deployment, update: StatusUpdate, note: str | None, moment: datetime, lease: timedelta
) -> Deployment:
    """`old` after `update`: its lines (and `note`, and the status line) appended and fitted;
    a lease that ends `leaseSeconds` (default `lease`) after `moment` while DEPLOYING."""
    now = iso_time(moment)
    error = update.error and UNPRINTABLE_IN_ERROR.sub(_written_out, update.error)
    lines = list(update.append_logs)
    if note is not None:
        lines.append(note)
    if update.status is not old.status:
        lines.append(update.status.value + (f": {error}" if error else ""))
    new = old.model_copy(
        update={
            "status": update.status,
            "error": error if error is not None else old.error,
            "version": old.version + 1,
            "updated_at": now,
            "lease_expires_at": (
                lease_until(moment, update.lease_seconds or lease.total_seconds())
                if update.status is DeploymentStatus.DEPLOYING
                else None
            ),
        }
    )
    logs = (old.logs or []) + [stamped(line, now) for line in lines]
    return new.model_copy(update={"logs": fit_logs(new, logs)})


def stamped(line: str, now: str) -> str:
    """`line` with the time it was logged in front, unless it carries its own timestamp, and
    its control characters written out (ESC as `\\x1b`); cut to 2,000 characters (only lines
    of over 1,975 lose their end to the timestamp and what is written out)."""
    line = UNPRINTABLE_IN_LINE.sub(_written_out, line)
    if not TIMESTAMPED.match(line):
        line = f"{now} {line}"
    return line[:MAX_LINE_CHARS]


def _written_out(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def fit_logs(deployment: Deployment, lines: list[str]) -> list[str]:
    """The newest of `lines` that fit as the deployment's logs: at most 1,000, and the item
    with them within MAX_ITEM_BYTES as DynamoDB counts it; the oldest lines go first."""
    kept = lines[-MAX_LOG_LINES:]
    without_logs = deployment.model_copy(update={"logs": []}).to_item()
    room = MAX_ITEM_BYTES - item_size(without_logs)  # `logs` already counted, as an empty list
    sizes = [1 + len(line.encode()) for line in kept]  # a list element: 1 byte + the string
    used = sum(sizes)
    start = 0
    while used > room and start < len(kept):
        used -= sizes[start]
        start += 1
    return kept[start:]
