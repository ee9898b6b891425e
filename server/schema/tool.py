"""Custom tools: the type, its query and its mutations."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON

from server import models
from server.errors import NotFound
from server.models import NewTool, ToolPatch, parse_input
from server.resolvers import tool as resolvers
from server.schema.enums import ToolType
from server.schema.info import Info
from server.schema.inputs import input_data
from server.schema.refs import AgentRef, ProjectRef
from server.schema.scalars import DateTime
from server.schema.stored_config import stored_config

__all__ = ["Tool", "ToolMutation", "ToolQuery"]


@strawberry.type
class Tool:
    id: strawberry.ID
    project_id: strawberry.ID
    name: str
    description: str
    type: ToolType
    input_schema: JSON = strawberry.field(
        description="A JSON Schema object describing the tool's input."
    )
    code: str | None = strawberry.field(description="Source code; null for FRONTEND_ACTION tools.")

    config: JSON = strawberry.field(resolver=stored_config)
    version: int
    created_at: DateTime
    updated_at: DateTime
    record: strawberry.Private[models.Tool]

    @classmethod
    def from_model(cls, tool: models.Tool) -> Tool:
        config = tool.config
        return cls(
            id=strawberry.ID(tool.tool_id),
            project_id=strawberry.ID(tool.project_id),
            name=tool.name,
            description=config.description,
            type=config.type,
            input_schema=JSON(config.input_schema),
            code=config.code,
            version=tool.version,
            created_at=DateTime(tool.created_at),
            updated_at=DateTime(tool.updated_at),
            record=tool,
        )

    @strawberry.field
    async def project(self, info: Info) -> ProjectRef:
        from server.schema.project import Project

        key = (self.record.user_id, self.record.project_id)
        project = await info.context.loaders.project_by_id.load(key)
        if project is None:
            raise NotFound("project", self.record.project_id)
        return Project.from_model(project)

    @strawberry.field(description="Agents of the same project whose toolNames include this tool.")
    async def used_by(self, info: Info) -> list[AgentRef]:
        from server.schema.agent import Agent

        key = (self.record.user_id, self.record.project_id)
        agents = await info.context.loaders.agents_by_project.load(key)
        return [Agent.from_model(a) for a in agents if self.record.name in a.tool_names]


@strawberry.input
class ToolInput:
    name: str
    description: str = ""
    type: ToolType
    input_schema: JSON
    code: str | None = None


@strawberry.input
class UpdateToolInput:
    name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    type: ToolType | None = strawberry.UNSET
    input_schema: JSON | None = strawberry.UNSET
    code: str | None = strawberry.UNSET
    expected_version: int | None = strawberry.UNSET


@strawberry.type
class ToolQuery:
    @strawberry.field
    async def tool(self, info: Info, id: strawberry.ID) -> Tool | None:
        tool = await resolvers.get_tool(info.context, id)
        return Tool.from_model(tool) if tool is not None else None


@strawberry.type
class ToolMutation:
    @strawberry.mutation
    async def create_tool(self, info: Info, project_id: strawberry.ID, input: ToolInput) -> Tool:
        new = parse_input(NewTool, input_data(input))
        return Tool.from_model(await resolvers.create_tool(info.context, project_id, new))

    @strawberry.mutation
    async def update_tool(self, info: Info, id: strawberry.ID, input: UpdateToolInput) -> Tool:
        patch = parse_input(ToolPatch, input_data(input))
        return Tool.from_model(await resolvers.update_tool(info.context, id, patch))

    @strawberry.mutation
    async def delete_tool(self, info: Info, id: strawberry.ID) -> strawberry.ID:
        return strawberry.ID(await resolvers.delete_tool(info.context, id))
