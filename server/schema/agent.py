"""Agents: the type, its query and its mutations."""

from __future__ import annotations

from typing import TYPE_CHECKING

import strawberry
from strawberry.scalars import JSON

from server import models
from server.dataloaders.ready import Resolved, then, when_all_loaded
from server.errors import NotFound
from server.models import AgentPatch, NewAgent, parse_input
from server.resolvers import agent as resolvers
from server.schema.builtin_tool import BuiltinTool
from server.schema.enums import AgentType
from server.schema.info import Info
from server.schema.inputs import input_data
from server.schema.model_config import ModelConfig, ModelConfigInput
from server.schema.refs import ProjectRef, ToolRef
from server.schema.scalars import DateTime
from server.schema.stored_config import stored_config

if TYPE_CHECKING:
    from server.schema.tool import Tool

__all__ = ["Agent", "AgentMutation", "AgentQuery"]


@strawberry.type
class Agent:
    id: strawberry.ID
    project_id: strawberry.ID
    name: str
    description: str
    type: AgentType
    system_prompt: str
    tool_names: list[str] = strawberry.field(
        description="Names of the project's custom tools this agent uses (config.tools)."
    )
    builtin_tool_names: list[str] = strawberry.field(
        description="Names of built-in tools this agent uses (config.builtin_tools)."
    )
    model: ModelConfig

    config: JSON = strawberry.field(
        resolver=stored_config,
        description="The stored config map, exactly as the seed's Agent Config JSON Structure.",
    )
    version: int
    created_at: DateTime
    updated_at: DateTime
    record: strawberry.Private[models.Agent]

    @classmethod
    def from_model(cls, agent: models.Agent) -> Agent:
        config = agent.config
        return cls(
            id=strawberry.ID(agent.agent_id),
            project_id=strawberry.ID(agent.project_id),
            name=agent.name,
            description=config.description,
            type=config.type,
            system_prompt=config.system_prompt,
            tool_names=agent.tool_names,
            builtin_tool_names=agent.builtin_tool_names,
            model=ModelConfig.from_settings(config.model),
            version=agent.version,
            created_at=DateTime(agent.created_at),
            updated_at=DateTime(agent.updated_at),
            record=agent,
        )

    @strawberry.field
    async def project(self, info: Info) -> ProjectRef:
        from server.schema.project import Project

        key = (self.record.user_id, self.record.project_id)
        project = await info.context.loaders.project_by_id.load(key)
        if project is None:
            raise NotFound("project", self.record.project_id)
        return Project.from_model(project)

    @strawberry.field(graphql_type=list[ToolRef])
    def tools(self, info: Info) -> Resolved[list[Tool]]:
        from server.schema.tool import Tool

        def typed(tools: list[models.Tool]) -> list[Tool]:
            return [Tool.from_model(tool) for tool in tools]

        return then(resolvers.tools_of(info.context, self.record), typed)

    @strawberry.field(graphql_type=list[BuiltinTool])
    def builtin_tools(self, info: Info) -> Resolved[list[BuiltinTool]]:
        def known(tools: list[models.BuiltinTool | None]) -> list[BuiltinTool]:
            return [BuiltinTool.from_model(tool) for tool in tools if tool is not None]

        names = self.record.builtin_tool_names
        return when_all_loaded(info.context.loaders.builtin_tool_by_name, names, known)


@strawberry.input
class AgentInput:
    name: str
    description: str = ""
    type: AgentType = models.AgentType.AGENT_TOOL
    system_prompt: str
    tool_names: list[str] = strawberry.field(default_factory=list)
    builtin_tool_names: list[str] = strawberry.field(default_factory=list)
    model: ModelConfigInput


@strawberry.input
class UpdateAgentInput:
    name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    type: AgentType | None = strawberry.UNSET
    system_prompt: str | None = strawberry.UNSET
    tool_names: list[str] | None = strawberry.UNSET
    builtin_tool_names: list[str] | None = strawberry.UNSET
    model: ModelConfigInput | None = strawberry.UNSET
    expected_version: int | None = strawberry.UNSET


@strawberry.type
class AgentQuery:
    @strawberry.field
    async def agent(self, info: Info, id: strawberry.ID) -> Agent | None:
        agent = await resolvers.get_agent(info.context, id)
        return Agent.from_model(agent) if agent is not None else None


@strawberry.type
class AgentMutation:
    @strawberry.mutation
    async def create_agent(self, info: Info, project_id: strawberry.ID, input: AgentInput) -> Agent:
        new = parse_input(NewAgent, input_data(input))
        return Agent.from_model(await resolvers.create_agent(info.context, project_id, new))

    @strawberry.mutation
    async def update_agent(self, info: Info, id: strawberry.ID, input: UpdateAgentInput) -> Agent:
        patch = parse_input(AgentPatch, input_data(input))
        return Agent.from_model(await resolvers.update_agent(info.context, id, patch))

    @strawberry.mutation
    async def delete_agent(self, info: Info, id: strawberry.ID) -> strawberry.ID:
        return strawberry.ID(await resolvers.delete_agent(info.context, id))
