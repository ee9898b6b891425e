"""The Deployments table: `userId` + `deploymentId` (a ULID, so newest sorts last).

At most one deployment per project is PENDING or DEPLOYING: the project item's
`activeDeploymentId` is claimed in the transaction that creates a deployment and released in
the one that finishes it. So the unfinished ones are found through the Projects table (the
sweep), never by a Scan of this one, whose items are the largest of all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from server.errors import NotFound, ProjectBusy
from server.models import Deployment, Project
from server.store.children import LIVE_PROJECT, ChildTable, LostRace, ProjectLists, and_, at_version
from server.store.dynamo import Dynamo, Expression, TransactionCancelled, put, update

__all__ = ["LEASE_ATTRIBUTES", "SUMMARY_ATTRIBUTES", "DeploymentStore"]

# What a listing reads when the query selects neither `config` nor `logs`.
SUMMARY_ATTRIBUTES = (
    "userId",
    "deploymentId",
    "projectId",
    "status",
    "error",
    "version",
    "createdAt",
    "updatedAt",
)
# What the sweep and a take-over read to tell an abandoned deployment from a live one.
LEASE_ATTRIBUTES = (*SUMMARY_ATTRIBUTES, "leaseExpiresAt")


class DeploymentStore(ChildTable[Deployment]):
    sort_key = "deploymentId"
    model = Deployment

    def __init__(self, dynamo: Dynamo, table: str, *, lists: ProjectLists) -> None:
        super().__init__(dynamo, table)
        self._lists = lists

    async def create(self, deployment: Deployment) -> None:
        """Write a PENDING deployment and claim the project's one active slot for it."""
        claim = update(
            self._lists.table,
            self._lists.key(deployment.user_id, deployment.project_id),
            Expression(
                "SET activeDeploymentId = :id,"
                " deploymentIds = list_append(if_not_exists(deploymentIds, :empty), :ids)",
                values={
                    ":id": deployment.deployment_id,
                    ":empty": [],
                    ":ids": [deployment.deployment_id],
                },
            ),
            condition=Expression(f"{LIVE_PROJECT} AND attribute_not_exists(activeDeploymentId)"),
        )
        items = [
            put(
                self.table,
                deployment.to_item(),
                condition=Expression("attribute_not_exists(deploymentId)"),
            ),
            claim,
        ]
        try:
            await self.dynamo.transact(items)
        except TransactionCancelled as cancelled:
            project = cancelled.failed.get(1)
            if project is None or "deleting" in project:
                raise NotFound("project", deployment.project_id) from None
            raise ProjectBusy(deployment.project_id, project["activeDeploymentId"]) from None

    async def change(self, old: Deployment, new: Deployment, project: Project | None) -> None:
        """Write `new`'s status, error, logs and lease if `old` is still current; a finished
        deployment frees its project's active slot."""
        assignments = "SET #status = :status, logs = :logs, updatedAt = :now, #v = :next"
        names = {"#status": "status", "#v": "version"}
        values: dict[str, object] = {
            ":status": new.status.value,
            ":logs": new.logs or [],
            ":now": new.updated_at,
            ":next": new.version,
        }
        if new.error is not None:  # the seed's `error` is a string, absent until there is one
            assignments += ", #error = :error"
            names["#error"] = "error"
            values[":error"] = new.error
        if new.lease_expires_at is not None:
            assignments += ", leaseExpiresAt = :lease"
            values[":lease"] = new.lease_expires_at
        else:  # only a DEPLOYING deployment holds a lease
            assignments += " REMOVE leaseExpiresAt"
        items: list[dict[str, Any]] = [
            update(
                self.table,
                self.key(old.user_id, old.deployment_id),
                Expression(assignments, names, values),
                condition=and_(
                    Expression("attribute_exists(deploymentId)"), at_version(old.version)
                ),
            )
        ]
        if (
            not new.status.is_active
            and project is not None
            and project.active_deployment_id == old.deployment_id
        ):
            items.append(
                update(
                    self._lists.table,
                    self._lists.key(project.user_id, project.project_id),
                    Expression("REMOVE activeDeploymentId"),
                    condition=Expression(
                        "activeDeploymentId = :id", values={":id": old.deployment_id}
                    ),
                )
            )
        try:
            await self.dynamo.transact(items)
        except TransactionCancelled as cancelled:
            if cancelled.failed.get(0, {}) is None:
                raise NotFound("deployment", old.deployment_id) from None
            raise LostRace from None

    async def summaries(
        self, keys: Sequence[tuple[str, str]], *, consistent: bool = False
    ) -> list[Deployment]:
        """The deployments at (user_id, deployment_id) `keys`, with their lease but without
        config and logs, in no particular order (absent ones left out): BatchGetItem, which
        DynamoDB bills by each whole item read all the same."""
        items = await self.dynamo.batch_get(
            self.table,
            [self.key(*key) for key in keys],
            consistent=consistent,
            attributes=LEASE_ATTRIBUTES,
        )
        return [self.parse(item) for item in items]

    async def list_for_projects(
        self,
        user_id: str,
        project_ids: Sequence[str] | None,
        *,
        attributes: Sequence[str] | None = None,
        consistent: bool = False,
    ) -> list[Deployment]:
        """Newest first."""
        deployments = await super().list_for_projects(
            user_id, project_ids, attributes=attributes, consistent=consistent
        )
        deployments.sort(key=lambda deployment: deployment.deployment_id, reverse=True)
        return deployments
