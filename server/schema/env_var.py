"""Environment variables: the type and its mutations. Secret values never leave the server."""

from __future__ import annotations

import strawberry

from server import models
from server.models import EnvVarSpec, parse_input
from server.resolvers import env_var as resolvers
from server.schema.info import Info
from server.schema.inputs import input_data
from server.schema.scalars import DateTime

__all__ = ["EnvVar", "EnvVarMutation"]


@strawberry.type
class EnvVar:
    id: strawberry.ID = strawberry.field(description="project-{projectId}-{key}")
    project_id: strawberry.ID
    key: str
    value: str | None = strawberry.field(
        description="null when secret is true: secret values are write-only through this API."
    )
    secret: bool
    needs_value: bool = strawberry.field(
        description=(
            "true for a secret whose value is empty, as importProject creates them: set it"
            " with setEnvVar."
        )
    )
    created_at: DateTime
    updated_at: DateTime

    @classmethod
    def from_model(cls, variable: models.EnvVar) -> EnvVar:
        return cls(
            id=strawberry.ID(variable.env_id),
            project_id=strawberry.ID(variable.project_id),
            key=variable.key,
            value=None if variable.secret else variable.value,
            secret=variable.secret,
            needs_value=variable.secret and not variable.value,
            created_at=DateTime(variable.created_at),
            updated_at=DateTime(variable.updated_at),
        )


@strawberry.input
class EnvVarInput:
    key: str
    value: str
    secret: bool = False


@strawberry.type
class EnvVarMutation:
    @strawberry.mutation(description="Creates or replaces one environment variable of the project.")
    async def set_env_var(
        self, info: Info, project_id: strawberry.ID, input: EnvVarInput
    ) -> EnvVar:
        spec = parse_input(EnvVarSpec, input_data(input))
        return EnvVar.from_model(await resolvers.set_env_var(info.context, project_id, spec))

    @strawberry.mutation(
        description="Returns the deleted variable's id, project-{projectId}-{key}."
    )
    async def delete_env_var(
        self, info: Info, project_id: strawberry.ID, key: str
    ) -> strawberry.ID:
        return strawberry.ID(await resolvers.delete_env_var(info.context, project_id, key))
