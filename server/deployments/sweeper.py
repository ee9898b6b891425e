"""The sweep: finds, on a timer of its own, deployments that nothing works on any more.

Every PENDING or DEPLOYING deployment is its project's `activeDeploymentId` (claimed in the
transaction that creates it, released in the one that finishes it), so every `interval`
seconds, however busy the server is, the sweep Scans the Projects table (small items) for the
projects that hold one, and reads only those deployments (BatchGetItem, without config and
logs). It never Scans the Deployments table, whose items are the largest of all. It finds:

- DEPLOYING deployments whose lease has ended: whatever deployed them (this server's worker, an
  instance that stopped, an external pipeline) stopped renewing them, so their progress is
  unknown. They are failed with `interrupted: …`, conditionally on the version the sweep read,
  so a renewal that lands first wins; failing them frees their project for a new deployment.
  (A create that finds its project's slot held by one does the same at once, with the same
  function: `server.deployments.lifecycle.fail_if_abandoned`.)
- PENDING deployments, handed to `resume` (this instance's worker, when it deploys them
  itself): those left behind by an instance that stopped get deployed. A worker claims each
  with a conditional write, so a deployment another instance is taking is deployed once.

The same Scan finds projects marked `deleting` whose mark is older than `stalled_after`: a
`deleteProject` cascade, or a stepped `importProject`, that stopped part-way (its process
killed) and that nobody will call again, since the project reads as gone. The sweep finishes
their cascade, so what they hold, and count in their account's quotas, does not linger.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from server.deployments.lifecycle import INTERRUPTED, fail_if_abandoned
from server.deployments.notices import DeploymentNotices
from server.errors import NotFound
from server.models import Deployment, DeploymentStatus, iso_time
from server.store import Store
from server.store.cascade import delete_project

__all__ = ["INTERRUPTED", "STALLED_AFTER", "SWEEP_SECONDS", "Sweeper"]

logger = logging.getLogger(__name__)

SWEEP_SECONDS = 60.0  # as long as the lease: see "The deployment worker" in README.md
# A mark this old belongs to no cascade or import still running: those take seconds (an HTTP
# one is stopped by OPERATION_TIMEOUT_SECONDS).
STALLED_AFTER = timedelta(minutes=15)

Resume = Callable[[str, str], None]


class Sweeper:
    def __init__(
        self,
        store: Store,
        notices: DeploymentNotices,
        *,
        interval: float = SWEEP_SECONDS,
        resume: Resume | None = None,
        stalled_after: timedelta = STALLED_AFTER,
    ) -> None:
        self._store = store
        self._stalled_after = stalled_after
        self._notices = notices
        self._interval = interval
        self._resume = resume
        self.sweeps = 0  # completed sweeps of this process

    async def run(self) -> None:
        """Sweep now, then every `interval` seconds, until cancelled."""
        while True:
            try:
                await self.sweep()
            except Exception:
                logger.exception("could not sweep for abandoned deployments")
            await asyncio.sleep(self._interval)

    async def sweep(self) -> None:
        """One pass: fail the DEPLOYING deployments whose lease has ended, resume PENDING ones,
        finish the cascades that stalled."""
        now = datetime.now(UTC)
        targets = await self._store.projects.sweep_targets()
        for deployment in await self._store.deployments.summaries(targets.active):
            if deployment.status is DeploymentStatus.PENDING:
                if self._resume is not None:
                    self._resume(deployment.user_id, deployment.deployment_id)
            elif deployment.status is DeploymentStatus.DEPLOYING:
                await self._fail_if_abandoned(deployment, now)
        for (user_id, project_id), marked in targets.marked:
            if _older_than(marked, now - self._stalled_after):
                await self._finish_cascade(user_id, project_id, now)
        self.sweeps += 1

    async def _fail_if_abandoned(self, deployment: Deployment, now: datetime) -> None:
        """A failure to write is logged and left for the next sweep; the others go on."""
        try:
            await fail_if_abandoned(self._store, self._notices, deployment, now)
        except Exception as error:
            logger.warning(
                "could not fail abandoned deployment %s: %s", deployment.deployment_id, error
            )

    async def _finish_cascade(self, user_id: str, project_id: str, now: datetime) -> None:
        """A failure is logged and left for the next sweep; a cascade another caller finished
        first is no failure."""
        try:
            await delete_project(self._store, user_id, project_id, now=iso_time(now))
        except NotFound:
            return
        except Exception as error:
            logger.warning("could not finish deleting project %s: %s", project_id, error)
            return
        logger.info("finished deleting project %s, left part-way by a stopped process", project_id)


def _older_than(moment: str, limit: datetime) -> bool:
    """Whether the stored time `moment` is before `limit`; one that cannot be read is (nothing
    of this server wrote it)."""
    try:
        return datetime.fromisoformat(moment) < limit
    except (TypeError, ValueError):
        return True
