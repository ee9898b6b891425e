"""Deployments: the type, its query, mutations and the live subscription."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from server import models
from server.deployments import diff
from server.deployments.diff import DifferenceKind
from server.models import StatusUpdate, parse_input
from server.resolvers import deployment as resolvers
from server.schema.enums import DeploymentStatus
from server.schema.info import Info
from server.schema.refs import ProjectRef
from server.schema.scalars import DateTime
from server.schema.selection import selects

__all__ = ["Deployment", "DeploymentMutation", "DeploymentQuery", "DeploymentSubscription"]

strawberry.enum(DifferenceKind, name="ChangeKind")


@strawberry.type(name="ConfigChange")
class ConfigDifference:
    path: str
    kind: DifferenceKind
    before: JSON | None
    after: JSON | None

    @classmethod
    def from_difference(cls, difference: diff.ConfigDifference) -> ConfigDifference:
        return cls(
            path=difference.path,
            kind=difference.kind,
            before=JSON(difference.before) if difference.before is not None else None,
            after=JSON(difference.after) if difference.after is not None else None,
        )


@strawberry.type
class Deployment:
    id: strawberry.ID
    project_id: strawberry.ID
    status: DeploymentStatus
    error: str | None
    created_at: DateTime
    updated_at: DateTime
    record: strawberry.Private[models.Deployment]

    @classmethod
    def from_model(cls, deployment: models.Deployment) -> Deployment:
        return cls(
            id=strawberry.ID(deployment.deployment_id),
            project_id=strawberry.ID(deployment.project_id),
            status=deployment.status,
            error=deployment.error,
            created_at=DateTime(deployment.created_at),
            updated_at=DateTime(deployment.updated_at),
            record=deployment,
        )

    @strawberry.field(
        description=(
            "null once the project has been deleted. The owner's only: FORBIDDEN on another"
            " user's deployment (an admin's answer to updateDeploymentStatus)."
        )
    )
    async def project(self, info: Info) -> ProjectRef | None:
        from server.schema.project import Project

        resolvers.check_reach(info.context, self.record.user_id, ["project"])
        key = (self.record.user_id, self.record.project_id)
        project = await info.context.loaders.project_by_id.load(key)
        return Project.from_model(project) if project is not None else None

    @strawberry.field(
        description=(
            "Snapshot of the complete system configuration at creation: project, mainConfig,"
            " agents, tools, env (secret values redacted)."
        )
    )
    async def config(self, info: Info) -> JSON:
        return JSON((await self._full(info)).config or {})

    @strawberry.field
    async def logs(self, info: Info) -> list[str]:
        return (await self._full(info)).logs or []

    @strawberry.field(
        name="changes",
        description=(
            "Changes from `against` (default: this project's previous deployment) to this one."
            " The owner's only: FORBIDDEN on another user's deployment."
        ),
    )
    async def differences(
        self, info: Info, against: strawberry.ID | None = strawberry.UNSET
    ) -> list[ConfigDifference]:
        against_id = against if isinstance(against, str) else None
        found = await resolvers.deployment_differences(info.context, self.record, against_id)
        return [ConfigDifference.from_difference(difference) for difference in found]

    async def _full(self, info: Info) -> models.Deployment:
        """This deployment with `config` and `logs`, read now if a listing left them out."""
        if self.record.config is not None:
            return self.record
        key = (self.record.user_id, self.record.deployment_id)
        return await info.context.loaders.deployment_by_id.load(key) or self.record


@strawberry.type
class DeploymentQuery:
    @strawberry.field
    async def deployment(self, info: Info, id: strawberry.ID) -> Deployment | None:
        deployment = await resolvers.get_deployment(info.context, id)
        return Deployment.from_model(deployment) if deployment is not None else None


@strawberry.type
class DeploymentMutation:
    @strawberry.mutation(
        description="Snapshots the project's complete configuration into a new PENDING deployment."
    )
    async def create_deployment(self, info: Info, project_id: strawberry.ID) -> Deployment:
        return Deployment.from_model(await resolvers.create_deployment(info.context, project_id))

    @strawberry.mutation(
        description="Deploys the snapshot of an earlier deployment again, as a new deployment."
    )
    async def redeploy(self, info: Info, deployment_id: strawberry.ID) -> Deployment:
        return Deployment.from_model(await resolvers.redeploy(info.context, deployment_id))

    @strawberry.mutation(
        description="Moves a PENDING or DEPLOYING deployment to FAILED with error 'cancelled'."
    )
    async def cancel_deployment(self, info: Info, id: strawberry.ID) -> Deployment:
        return Deployment.from_model(await resolvers.cancel_deployment(info.context, id))

    @strawberry.mutation(
        description=(
            "Admin only: moves another user's deployment along its lifecycle and appends log lines."
            " The answer holds the deployment's own fields; `project` and `changes` of another"
            " user's deployment are FORBIDDEN."
        )
    )
    async def update_deployment_status(
        self,
        info: Info,
        user_id: strawberry.ID,
        id: strawberry.ID,
        status: DeploymentStatus,
        error: str | None = None,
        append_logs: list[str] | None = None,
        lease_seconds: Annotated[
            int | None,
            strawberry.argument(
                description=(
                    "With status DEPLOYING: how long (1 to 3600 s, default 60) the deployment"
                    " may go without another update before the sweep fails it as abandoned."
                    " Any update while DEPLOYING, log lines or none, renews the lease."
                )
            ),
        ] = None,
    ) -> Deployment:
        info.context.require_admin()
        # Refused before anything changes, rather than a change whose answer is an error.
        wanted = [field for field in resolvers.OWNER_ONLY_FIELDS if selects(info, field)]
        resolvers.check_reach(info.context, user_id, wanted)
        given: dict[str, object] = {
            "status": status,
            "error": error,
            "appendLogs": append_logs or [],
        }
        if lease_seconds is not None:
            given["leaseSeconds"] = lease_seconds
        update = parse_input(StatusUpdate, given)
        deployment = await resolvers.update_deployment_status(info.context, user_id, id, update)
        return Deployment.from_model(deployment)


@strawberry.type
class DeploymentSubscription:
    @strawberry.subscription(
        description=(
            "Emits the deployment now, then on every change of status or logs, and completes"
            " after SUCCESS or FAILED."
        )
    )
    async def deployment_updated(
        self, info: Info, id: strawberry.ID
    ) -> AsyncGenerator[Deployment, None]:
        async for deployment in resolvers.watch_deployment(info.context, id):
            # Each emission resolves its nested fields afresh, not from the last one's loaders.
            info.context.renew_loaders()
            yield Deployment.from_model(deployment)
