"""The sweep: finds, on a timer of its own, deployments that nothing works on any more.

Every `interval` seconds, however busy the server is, one Scan of the Deployments table (only
the unfinished ones, without config and logs) finds:

- DEPLOYING deployments whose lease has ended: whatever deployed them (this server's worker, an
  instance that stopped, an external pipeline) stopped renewing them, so their progress is
  unknown. They are failed with `interrupted: …`, conditionally on the version the sweep read,
  so a renewal that lands first wins; failing them frees their project for a new deployment.
- PENDING deployments, handed to `resume` (this instance's worker, when it deploys them
  itself): those left behind by an instance that stopped get deployed. A worker claims each
  with a conditional write, so a deployment another instance is taking is deployed once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from server.changes import Changes
from server.errors import Conflict, NotFound
from server.lifecycle import change_status
from server.models import Deployment, DeploymentStatus, StatusChange
from server.store import Store

__all__ = ["INTERRUPTED", "SWEEP_SECONDS", "Sweeper"]

logger = logging.getLogger(__name__)

SWEEP_SECONDS = 20.0
INTERRUPTED = "interrupted: nothing renewed its lease (its deployer stopped); deploy again"

Resume = Callable[[str, str], None]


class Sweeper:
    def __init__(
        self,
        store: Store,
        changes: Changes,
        *,
        interval: float = SWEEP_SECONDS,
        resume: Resume | None = None,
    ) -> None:
        self._store = store
        self._changes = changes
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
        """One pass: fail the DEPLOYING deployments whose lease has ended, resume PENDING ones."""
        now = datetime.now(UTC)
        for deployment in await self._store.deployments.unfinished():
            if deployment.status is DeploymentStatus.PENDING:
                if self._resume is not None:
                    self._resume(deployment.user_id, deployment.deployment_id)
            elif deployment.lease_ended(now):
                await self._fail(deployment)
        self.sweeps += 1

    async def _fail(self, deployment: Deployment) -> None:
        """Fail `deployment` if it is still as the Scan read it; a failure to write is left
        for the next sweep."""
        try:
            await change_status(
                self._store,
                self._changes,
                deployment.user_id,
                deployment.deployment_id,
                StatusChange(status=DeploymentStatus.FAILED, error=INTERRUPTED),
                only_from=DeploymentStatus.DEPLOYING,
                expected_version=deployment.version,
            )
        except (Conflict, NotFound):
            return  # renewed, finished, cancelled or deleted since the Scan read it
        except Exception as error:
            logger.warning(
                "could not fail abandoned deployment %s: %s", deployment.deployment_id, error
            )
            return
        logger.info(
            "deployment %s failed: its lease ended at %s",
            deployment.deployment_id,
            deployment.lease_expires_at or f"{deployment.updated_at} + the lease",
        )
