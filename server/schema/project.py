"""Projects: the type, its queries and its mutations."""

from __future__ import annotations

import strawberry

from server import models
from server.models import NewProject, ProjectPatch, parse_input
from server.resolvers import project as resolvers
from server.schema.info import Info
from server.schema.inputs import input_data
from server.schema.scalars import DateTime

__all__ = ["Project", "ProjectMutation", "ProjectQuery"]


@strawberry.type
class Project:
    id: strawberry.ID
    name: str
    description: str
    agent_ids: list[strawberry.ID]
    tool_ids: list[strawberry.ID]
    env_ids: list[strawberry.ID]
    deployment_ids: list[strawberry.ID]
    version: int
    created_at: DateTime
    updated_at: DateTime

    @classmethod
    def from_model(cls, project: models.Project) -> Project:
        return cls(
            id=strawberry.ID(project.project_id),
            name=project.name,
            description=project.description,
            agent_ids=[strawberry.ID(id_) for id_ in project.agent_ids],
            tool_ids=[strawberry.ID(id_) for id_ in project.tool_ids],
            env_ids=[strawberry.ID(id_) for id_ in project.env_ids],
            deployment_ids=[strawberry.ID(id_) for id_ in project.deployment_ids],
            version=project.version,
            created_at=DateTime(project.created_at),
            updated_at=DateTime(project.updated_at),
        )


@strawberry.input
class CreateProjectInput:
    name: str
    description: str = ""


@strawberry.input(
    description=(
        "Omitted fields keep their value. expectedVersion, when given, must equal the stored"
        " version or the update fails with CONFLICT."
    )
)
class UpdateProjectInput:
    name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    expected_version: int | None = strawberry.UNSET


@strawberry.type
class ProjectQuery:
    @strawberry.field(description="The caller's projects, oldest first.")
    async def projects(self, info: Info) -> list[Project]:
        return [
            Project.from_model(project) for project in await resolvers.list_projects(info.context)
        ]

    @strawberry.field(
        description="null when the project does not exist or belongs to someone else."
    )
    async def project(self, info: Info, id: strawberry.ID) -> Project | None:
        project = await resolvers.get_project(info.context, id)
        return Project.from_model(project) if project is not None else None


@strawberry.type
class ProjectMutation:
    @strawberry.mutation
    async def create_project(self, info: Info, input: CreateProjectInput) -> Project:
        new = parse_input(NewProject, input_data(input))
        return Project.from_model(await resolvers.create_project(info.context, new))

    @strawberry.mutation
    async def update_project(
        self, info: Info, id: strawberry.ID, input: UpdateProjectInput
    ) -> Project:
        patch = parse_input(ProjectPatch, input_data(input))
        return Project.from_model(await resolvers.update_project(info.context, id, patch))

    @strawberry.mutation(
        description=(
            "Deletes the project with its agents, tools, main config, env vars and deployments;"
            " returns the project's id."
        )
    )
    async def delete_project(self, info: Info, id: strawberry.ID) -> strawberry.ID:
        return strawberry.ID(await resolvers.delete_project(info.context, id))
