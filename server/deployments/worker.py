"""`DEPLOYER=validate`: an in-process worker that takes each new deployment through its life.

The worker claims a PENDING deployment with a conditional move to DEPLOYING (so of several
instances exactly one takes it), hands its snapshot to a `Deployer` that writes a log line per
step, and finishes it SUCCESS, or FAILED with the reason. The `Deployer` is the seam for a real
one (e.g. Bedrock AgentCore); `ValidatingDeployer` checks that the snapshot could run.

While the `Deployer` works, the worker renews the deployment's lease (`leaseExpiresAt`) on a
heartbeat, so only a deployment whose worker stopped outlives its lease; the sweep
(`server/deployments/sweeper.py`, on a timer of its own) fails those, and hands PENDING
deployments left behind to the worker.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from datetime import timedelta
from typing import Protocol

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from server.builtin_catalog import BuiltinCatalog
from server.deployments.lifecycle import change_status
from server.deployments.notices import DeploymentNotices
from server.errors import Conflict, DomainError, NotFound
from server.metrics import DEPLOYMENT_CLAIMS, DEPLOYMENT_OUTCOMES
from server.models import Deployment, DeploymentStatus, Snapshot, StatusUpdate, ToolType
from server.models.deployment import LEASE
from server.models.snapshot import SnapshotTool
from server.store import Store

__all__ = ["DeploymentFailed", "Deployer", "DeploymentWorker", "ValidatingDeployer"]

logger = logging.getLogger(__name__)

Log = Callable[[str], Awaitable[None]]


class DeploymentFailed(Exception):
    """The snapshot cannot be deployed; the message says why, for the deployment's `error`."""


class Deployer(Protocol):
    async def deploy(self, snapshot: Snapshot, log: Log) -> None:
        """Deploy `snapshot`, logging each step; raise `DeploymentFailed` to fail it."""
        ...


class ValidatingDeployer:
    """Checks that a snapshot is complete and consistent, one logged step per check."""

    def __init__(self, catalog: BuiltinCatalog) -> None:
        self._catalog = catalog

    async def deploy(self, snapshot: Snapshot, log: Log) -> None:
        agents, tools = snapshot.agents, snapshot.tools
        if snapshot.main_config is None:
            raise DeploymentFailed("the project has no main config")
        await log("main config present")
        if not agents:
            raise DeploymentFailed("the project has no agents")
        names = [agent.name for agent in agents]
        if repeated := sorted({name for name in names if names.count(name) > 1}):
            raise DeploymentFailed(f"agents share a name: {', '.join(repeated)}")
        await log(f"{len(agents)} agents, names distinct")
        for tool in tools:
            _check_tool(tool)
        await log(f"{len(tools)} tools: input schemas valid, code present where needed")
        tool_names = {tool.name for tool in tools}
        active = {t.tool_name for t in await self._catalog.all() if t.is_active}
        for agent in agents:
            if missing := [n for n in agent.tools if n not in tool_names]:
                raise DeploymentFailed(
                    f"agent {agent.name!r} uses missing tools: {', '.join(missing)}"
                )
            if inactive := [n for n in agent.builtin_tools if n not in active]:
                raise DeploymentFailed(
                    f"agent {agent.name!r} uses inactive built-in tools: {', '.join(inactive)}"
                )
        await log("every agent's tools and built-in tools resolve")


def _check_tool(tool: SnapshotTool) -> None:
    try:
        Draft202012Validator.check_schema(tool.input_schema)
    except SchemaError as error:
        message = f"tool {tool.name!r} has an invalid input schema: {error.message}"
        raise DeploymentFailed(message) from None
    if tool.type is ToolType.CODE and not tool.code:
        raise DeploymentFailed(f"code tool {tool.name!r} has no code")


class DeploymentWorker:
    """Deploys what is submitted, one at a time, renewing the lease of the deployment it works
    on every third of the lease (`lease`), so the sweep fails it only if this process stops."""

    def __init__(
        self,
        store: Store,
        notices: DeploymentNotices,
        deployer: Deployer,
        *,
        lease: timedelta = LEASE,
    ) -> None:
        self._store = store
        self._notices = notices
        self._deployer = deployer
        self._lease = lease
        self._queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self._queued: set[tuple[str, str]] = set()

    def submit(self, user_id: str, deployment_id: str) -> None:
        """Queue the deployment, unless it is queued already (the sweep offers every PENDING
        deployment it finds, at each pass)."""
        key = (user_id, deployment_id)
        if key not in self._queued:
            self._queued.add(key)
            self._queue.put_nowait(key)

    async def run(self) -> None:
        """Deploy what is submitted, one by one, until cancelled."""
        while True:
            await self._process_safely(await self._queue.get())

    async def drain(self) -> None:
        """Deploy everything submitted so far, then return."""
        while not self._queue.empty():
            await self._process_safely(self._queue.get_nowait())

    async def _process_safely(self, key: tuple[str, str]) -> None:
        self._queued.discard(key)
        try:
            await self.process(*key)
        except Exception:
            logger.exception("deployment %s could not be processed", key[1])

    async def process(self, user_id: str, deployment_id: str) -> None:
        try:
            claimed = await self._deploying(user_id, deployment_id, claim=True)
        except DomainError:
            DEPLOYMENT_CLAIMS.labels("skipped").inc()
            return  # cancelled, gone, or claimed by another instance
        DEPLOYMENT_CLAIMS.labels("claimed").inc()
        outcome = await self._deploy(user_id, deployment_id, claimed)
        DEPLOYMENT_OUTCOMES.labels(outcome).inc()

    async def _deploy(self, user_id: str, deployment_id: str, claimed: Deployment) -> str:
        """Deploy a claimed deployment and finish it; say how it ended."""

        async def log(line: str) -> None:
            await self._deploying(user_id, deployment_id, [line])

        error: str | None = None
        try:
            async with self._renewing(user_id, deployment_id):
                await self._deployer.deploy(Snapshot.model_validate(claimed.config or {}), log)
        except DeploymentFailed as failure:
            status, error, outcome = DeploymentStatus.FAILED, str(failure), "failed"
        except DomainError:
            return "cancelled"  # while deploying
        except Exception:
            logger.exception("deployer failed on %s", deployment_id)
            error, outcome = "internal deployer error", "deployer_error"
            status = DeploymentStatus.FAILED
        else:
            status, outcome = DeploymentStatus.SUCCESS, "success"
        finished = await self._finish(user_id, deployment_id, status, error=error)
        return outcome if finished else "cancelled"

    async def _deploying(
        self,
        user_id: str,
        deployment_id: str,
        lines: list[str] | None = None,
        *,
        claim: bool = False,
    ) -> Deployment:
        """Claim the deployment (PENDING → DEPLOYING), or keep it DEPLOYING with `lines`;
        either renews its lease."""
        return await change_status(
            self._store,
            self._notices,
            user_id,
            deployment_id,
            StatusUpdate.model_validate(
                {"status": DeploymentStatus.DEPLOYING, "appendLogs": lines or []}
            ),
            note="claimed by the deployment worker" if claim else None,
            only_from=DeploymentStatus.PENDING if claim else DeploymentStatus.DEPLOYING,
            lease=self._lease,
        )

    @asynccontextmanager
    async def _renewing(self, user_id: str, deployment_id: str) -> AsyncIterator[None]:
        """Renew the deployment's lease on a heartbeat while the block runs, even when the
        deployer logs nothing for a while."""
        heartbeat = asyncio.create_task(
            self._heartbeat(user_id, deployment_id), name=f"lease of {deployment_id}"
        )
        try:
            yield
        finally:
            heartbeat.cancel()
            with suppress(asyncio.CancelledError):
                await heartbeat

    async def _heartbeat(self, user_id: str, deployment_id: str) -> None:
        while True:
            await asyncio.sleep(self._lease.total_seconds() / 3)
            try:
                await self._deploying(user_id, deployment_id)
            except (Conflict, NotFound):
                return  # cancelled or deleted: nothing to renew
            except Exception as error:  # e.g. DynamoDB throttled: the next beat tries again
                logger.warning("could not renew the lease of %s: %s", deployment_id, error)

    async def _finish(
        self,
        user_id: str,
        deployment_id: str,
        status: DeploymentStatus,
        *,
        error: str | None = None,
    ) -> bool:
        """Finish the deployment with `status`; False if it was cancelled meanwhile."""
        try:
            await change_status(
                self._store,
                self._notices,
                user_id,
                deployment_id,
                StatusUpdate(status=status, error=error),
            )
        except DomainError:
            return False  # cancelled meanwhile: the user's word stands
        return True
