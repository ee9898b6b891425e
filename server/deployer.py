"""`DEPLOYER=validate`: an in-process worker that takes each new deployment through its life.

The worker claims a PENDING deployment with a conditional move to DEPLOYING (so of several
instances exactly one takes it), hands its snapshot to a `Deployer` that writes a log line per
step, and finishes it SUCCESS, or FAILED with the reason. The `Deployer` is the seam for a real
one (e.g. Bedrock AgentCore); `ValidatingDeployer` checks that the snapshot could run.

At start, and every minute it has nothing to do, the worker picks up what a stopped process
left: PENDING deployments, and DEPLOYING ones untouched for longer than the lease (their worker
is gone), which it fails with a clear error since their progress is unknown.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from server.builtin_catalog import BuiltinCatalog
from server.changes import Changes
from server.errors import DomainError
from server.lifecycle import change_status
from server.models import DeploymentStatus, StatusChange
from server.store import Store

__all__ = ["DeploymentFailed", "Deployer", "DeploymentWorker", "ValidatingDeployer"]

logger = logging.getLogger(__name__)

Log = Callable[[str], Awaitable[None]]
LEASE = timedelta(seconds=60)
SWEEP_SECONDS = 60.0


class DeploymentFailed(Exception):
    """The snapshot cannot be deployed; the message says why, for the deployment's `error`."""


class Deployer(Protocol):
    async def deploy(self, snapshot: Mapping[str, Any], log: Log) -> None:
        """Deploy `snapshot`, logging each step; raise `DeploymentFailed` to fail it."""
        ...


class ValidatingDeployer:
    """Checks that a snapshot is complete and consistent, one logged step per check."""

    def __init__(self, catalog: BuiltinCatalog) -> None:
        self._catalog = catalog

    async def deploy(self, snapshot: Mapping[str, Any], log: Log) -> None:
        agents: list[Mapping[str, Any]] = list(snapshot.get("agents") or [])
        tools: list[Mapping[str, Any]] = list(snapshot.get("tools") or [])
        if not snapshot.get("mainConfig"):
            raise DeploymentFailed("the project has no main config")
        await log("main config present")
        if not agents:
            raise DeploymentFailed("the project has no agents")
        names = [str(agent.get("name")) for agent in agents]
        if repeated := sorted({name for name in names if names.count(name) > 1}):
            raise DeploymentFailed(f"agents share a name: {', '.join(repeated)}")
        await log(f"{len(agents)} agents, names distinct")
        for tool in tools:
            _check_tool(tool)
        await log(f"{len(tools)} tools: input schemas valid, code present where needed")
        tool_names = {str(tool.get("name")) for tool in tools}
        active = {t.tool_name for t in await self._catalog.all() if t.is_active}
        for agent in agents:
            if missing := [n for n in agent.get("tools") or [] if n not in tool_names]:
                raise DeploymentFailed(
                    f"agent {agent.get('name')!r} uses missing tools: {', '.join(missing)}"
                )
            inactive = [n for n in agent.get("builtin_tools") or [] if n not in active]
            if inactive:
                raise DeploymentFailed(
                    f"agent {agent.get('name')!r} uses inactive built-in tools:"
                    f" {', '.join(inactive)}"
                )
        await log("every agent's tools and built-in tools resolve")


def _check_tool(tool: Mapping[str, Any]) -> None:
    name = tool.get("name")
    try:
        Draft202012Validator.check_schema(tool.get("inputSchema") or {})
    except SchemaError as error:
        message = f"tool {name!r} has an invalid input schema: {error.message}"
        raise DeploymentFailed(message) from None
    if tool.get("type") == "code" and not tool.get("code"):
        raise DeploymentFailed(f"code tool {name!r} has no code")


class DeploymentWorker:
    def __init__(self, store: Store, changes: Changes, deployer: Deployer) -> None:
        self._store = store
        self._changes = changes
        self._deployer = deployer
        self._queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()

    def submit(self, user_id: str, deployment_id: str) -> None:
        self._queue.put_nowait((user_id, deployment_id))

    async def run(self) -> None:
        """Recover what a stopped process left, then deploy what is submitted, one by one,
        sweeping for strays (left by an instance that stopped) whenever idle for a while."""
        await self.recover()
        while True:
            try:
                async with asyncio.timeout(SWEEP_SECONDS):
                    submitted = await self._queue.get()
            except TimeoutError:
                await self._recover_safely()
                continue
            await self._process_safely(*submitted)

    async def _recover_safely(self) -> None:
        try:
            await self.recover()
        except Exception:
            logger.exception("could not sweep for unfinished deployments")

    async def drain(self) -> None:
        """Deploy everything submitted so far, then return."""
        while not self._queue.empty():
            await self._process_safely(*self._queue.get_nowait())

    async def _process_safely(self, user_id: str, deployment_id: str) -> None:
        try:
            await self.process(user_id, deployment_id)
        except Exception:
            logger.exception("deployment %s could not be processed", deployment_id)

    async def recover(self) -> None:
        stale_before = (datetime.now(UTC) - LEASE).isoformat().replace("+00:00", "Z")
        for deployment in await self._store.deployments.unfinished():
            if deployment.status is DeploymentStatus.PENDING:
                self.submit(deployment.user_id, deployment.deployment_id)
            elif deployment.updated_at < stale_before:
                await self._finish(
                    deployment.user_id,
                    deployment.deployment_id,
                    DeploymentStatus.FAILED,
                    error="interrupted: the server deploying it stopped; deploy again",
                )

    async def process(self, user_id: str, deployment_id: str) -> None:
        try:
            claimed = await change_status(
                self._store,
                self._changes,
                user_id,
                deployment_id,
                StatusChange(status=DeploymentStatus.DEPLOYING),
                note="claimed by the deployment worker",
                only_from=DeploymentStatus.PENDING,
            )
        except DomainError:
            return  # cancelled, gone, or claimed by another instance

        async def log(line: str) -> None:
            await change_status(
                self._store,
                self._changes,
                user_id,
                deployment_id,
                StatusChange.model_validate(
                    {"status": DeploymentStatus.DEPLOYING, "appendLogs": [line]}
                ),
                only_from=DeploymentStatus.DEPLOYING,
            )

        try:
            await self._deployer.deploy(claimed.config or {}, log)
        except DeploymentFailed as failure:
            await self._finish(user_id, deployment_id, DeploymentStatus.FAILED, error=str(failure))
        except DomainError:
            return  # cancelled while deploying
        except Exception:
            logger.exception("deployer failed on %s", deployment_id)
            await self._finish(
                user_id, deployment_id, DeploymentStatus.FAILED, error="internal deployer error"
            )
        else:
            await self._finish(user_id, deployment_id, DeploymentStatus.SUCCESS)

    async def _finish(
        self,
        user_id: str,
        deployment_id: str,
        status: DeploymentStatus,
        *,
        error: str | None = None,
    ) -> None:
        try:
            await change_status(
                self._store,
                self._changes,
                user_id,
                deployment_id,
                StatusChange(status=status, error=error),
            )
        except DomainError:
            pass  # cancelled meanwhile: the user's word stands
