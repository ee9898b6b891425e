"""Built-in tools: the type and its queries."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON

from server import models
from server.resolvers import builtin_tool as resolvers
from server.schema.info import Info

__all__ = ["BuiltinTool", "BuiltinToolQuery"]


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
