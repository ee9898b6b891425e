"""Projects: the type, its queries and its mutations."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, TypeVar

import strawberry
from strawberry.types.base import get_object_definition

from server import models
from server.dataloaders.prefetch import Children
from server.dataloaders.ready import Resolved, when_loaded, when_ready
from server.models import NewProject, ProjectPatch, parse_input
from server.quotas import DEFAULT_DEPLOYMENTS_PER_LISTING, DEPLOYMENTS_PER_LISTING
from server.resolvers import project as resolvers
from server.schema.enums import DeploymentStatus
from server.schema.info import Info
from server.schema.inputs import input_data
from server.schema.refs import AgentRef, DeploymentRef, EnvVarRef, MainConfigRef, ToolRef
from server.schema.scalars import DateTime
from server.schema.selection import selected_paths

if TYPE_CHECKING:
    from server.schema.agent import Agent
    from server.schema.deployment import Deployment
    from server.schema.env_var import EnvVar
    from server.schema.main_config import MainAgentConfig
    from server.schema.tool import Tool

__all__ = ["Project", "ProjectMutation", "ProjectQuery"]

R = TypeVar("R")
# The metadata key of a field's look-ahead (`looks_ahead`).
LOOK_AHEAD = "look_ahead"


def looks_ahead(
    reads: Children, below: Mapping[str, Children] | None = None
) -> dict[str, tuple[Children, Mapping[str, Children]]]:
    """The metadata of a field of Project for the look-ahead of `projects`: the child tables
    the field reads, and those read by the fields of its items selected `below` it (by their
    GraphQL names)."""
    return {LOOK_AHEAD: (reads, below or {})}


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
    model: strawberry.Private[models.Project]

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
            model=project,
        )

    @property
    def key(self) -> tuple[str, str]:
        return (self.model.user_id, self.model.project_id)

    @strawberry.field(
        description="Agents in agentIds order.",
        graphql_type=list[AgentRef],
        metadata=looks_ahead(
            Children(agents=True),
            {"tools": Children(tools=True), "builtinTools": Children(builtin_tools=True)},
        ),
    )
    def agents(self, info: Info) -> Resolved[list[Agent]]:
        from server.schema.agent import Agent

        def typed(agents: list[models.Agent]) -> list[Agent]:  # in agentIds order, as loaded
            return [Agent.from_model(agent) for agent in agents]

        return when_loaded(info.context.loaders.agents_by_project, self.key, typed)

    @strawberry.field(
        description="Tools in toolIds order.",
        graphql_type=list[ToolRef],
        metadata=looks_ahead(Children(tools=True), {"usedBy": Children(agents=True)}),
    )
    def tools(self, info: Info) -> Resolved[list[Tool]]:
        from server.schema.tool import Tool

        def typed(tools: list[models.Tool]) -> list[Tool]:  # in toolIds order, as loaded
            return [Tool.from_model(tool) for tool in tools]

        return when_loaded(info.context.loaders.tools_by_project, self.key, typed)

    @strawberry.field(
        graphql_type=MainConfigRef | None, metadata=looks_ahead(Children(main_configs=True))
    )
    def main_config(self, info: Info) -> Resolved[MainAgentConfig | None]:
        from server.schema.main_config import MainAgentConfig

        def typed(config: models.MainConfig | None) -> MainAgentConfig | None:
            return MainAgentConfig.from_model(config) if config is not None else None

        key = (self.model.user_id, models.main_config_id(self.model.project_id))
        return when_loaded(info.context.loaders.main_config_by_id, key, typed)

    @strawberry.field(
        description="Sorted by key.",
        graphql_type=list[EnvVarRef],
        metadata=looks_ahead(Children(env_vars=True)),
    )
    def env_vars(self, info: Info) -> Resolved[list[EnvVar]]:
        from server.schema.env_var import EnvVar

        def by_key(variables: list[models.EnvVar]) -> list[EnvVar]:
            return [EnvVar.from_model(v) for v in sorted(variables, key=lambda v: v.key)]

        return when_loaded(info.context.loaders.env_vars_by_project, self.key, by_key)

    @strawberry.field(
        description="Newest first; limit defaults to 20 and is capped at 100.",
        graphql_type=list[DeploymentRef],
    )
    def deployments(
        self, info: Info, status: DeploymentStatus | None = None, limit: int | None = None
    ) -> Resolved[list[Deployment]]:
        from server.schema.deployment import Deployment

        count = (
            DEFAULT_DEPLOYMENTS_PER_LISTING
            if limit is None
            else max(0, min(limit, DEPLOYMENTS_PER_LISTING))
        )

        def first(deployments: list[models.Deployment]) -> list[Deployment]:
            if status is not None:
                deployments = [d for d in deployments if d.status is status]
            return [Deployment.from_model(d) for d in deployments[:count]]

        return _when_deployments_loaded(info, self.key, count if status is None else None, first)

    @strawberry.field(graphql_type=DeploymentRef | None)
    def latest_deployment(self, info: Info) -> Resolved[Deployment | None]:
        from server.schema.deployment import Deployment

        def newest(deployments: list[models.Deployment]) -> Deployment | None:
            return Deployment.from_model(deployments[0]) if deployments else None

        return _when_deployments_loaded(info, self.key, 1, newest)


def children_wanted(info: Info) -> Children:
    """Which children of the projects below the current field the query reads: what the
    look-ahead of each selected field of Project says (`looks_ahead`)."""
    paths = selected_paths(info)
    wanted = Children()
    for field in get_object_definition(Project, strict=True).fields:
        if LOOK_AHEAD not in field.metadata:
            continue
        name = info.schema.config.name_converter.get_graphql_name(field)
        reads, below = field.metadata[LOOK_AHEAD]
        if name in paths:
            wanted |= reads
        for child, child_reads in below.items():
            if f"{name}.{child}" in paths:
                wanted |= child_reads
    return wanted


def _when_deployments_loaded(
    info: Info,
    key: tuple[str, str],
    count: int | None,
    use: Callable[[list[models.Deployment]], R],
) -> Resolved[R]:
    """`use(deployments)`: the newest `count` (None: all, for a filter), newest first, without
    `config` and `logs`: those are read by id for the deployments returned
    (`Deployment.config`), so a listing never reads the snapshots of those it leaves out."""
    return when_ready(info.context.loaders.newest_deployments(key, count), use)


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
        projects = await resolvers.list_projects(info.context, children_wanted(info))
        return [Project.from_model(project) for project in projects]

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
