"""Built-in tools: the type and its queries."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON

from server import models
from server.models import BuiltinToolSpec, parse_input
from server.resolvers import builtin_tool as resolvers
from server.schema.info import Info
from server.schema.inputs import input_data

__all__ = ["BuiltinTool", "BuiltinToolMutation", "BuiltinToolQuery"]


@strawberry.type
class BuiltinTool:
    name: strawberry.ID
    description: str
    type: str
    input_schema: JSON
    category: str
    is_active: bool

    @classmethod
    def from_model(cls, tool: models.BuiltinTool) -> BuiltinTool:
        return cls(
            name=strawberry.ID(tool.tool_name),
            description=tool.description,
            type=tool.type,
            input_schema=JSON(tool.input_schema),
            category=tool.category,
            is_active=tool.is_active,
        )


@strawberry.type
class BuiltinToolQuery:
    @strawberry.field(
        description="Active built-in tools; inactive ones too when includeInactive is true."
    )
    async def builtin_tools(
        self, info: Info, category: str | None = None, include_inactive: bool = False
    ) -> list[BuiltinTool]:
        tools = await resolvers.list_builtin_tools(
            info.context, category=category, include_inactive=include_inactive
        )
        return [BuiltinTool.from_model(tool) for tool in tools]

    @strawberry.field
    async def builtin_tool(self, info: Info, name: str) -> BuiltinTool | None:
        tool = await resolvers.get_builtin_tool(info.context, name)
        return BuiltinTool.from_model(tool) if tool is not None else None


@strawberry.input
class BuiltinToolInput:
    name: str
    description: str
    type: str
    input_schema: JSON
    category: str
    is_active: bool = True


@strawberry.type
class BuiltinToolMutation:
    @strawberry.mutation(description="Admin only.")
    async def upsert_builtin_tool(self, info: Info, input: BuiltinToolInput) -> BuiltinTool:
        info.context.require_admin()
        spec = parse_input(BuiltinToolSpec, input_data(input))
        return BuiltinTool.from_model(await resolvers.upsert_builtin_tool(info.context, spec))

    @strawberry.mutation(description="Admin only.")
    async def set_builtin_tool_active(self, info: Info, name: str, is_active: bool) -> BuiltinTool:
        tool = await resolvers.set_builtin_tool_active(info.context, name, is_active)
        return BuiltinTool.from_model(tool)
