"""Built-in tools: the admin-curated catalog every user reads."""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.errors import NotFound
from server.models import BuiltinTool, BuiltinToolSpec

if TYPE_CHECKING:
    from server.context import Context

__all__ = [
    "get_builtin_tool",
    "list_builtin_tools",
    "set_builtin_tool_active",
    "upsert_builtin_tool",
]


async def list_builtin_tools(
    context: Context, *, category: str | None, include_inactive: bool
) -> list[BuiltinTool]:
    """List the catalog (a Scan, cached process-wide), active tools only unless asked."""
    return [
        tool
        for tool in await context.catalog.all()
        if (include_inactive or tool.is_active) and category in (None, tool.category)
    ]


async def get_builtin_tool(context: Context, name: str) -> BuiltinTool | None:
    """Get one built-in tool by toolName, active or not."""
    if not name or len(name) > 64:
        return None
    return await context.loaders.builtin_tool_by_name.load(name)


async def upsert_builtin_tool(context: Context, spec: BuiltinToolSpec) -> BuiltinTool:
    """Admin only: create or replace a catalog entry."""
    context.require_admin()
    tool = spec.to_record()
    await context.store.builtin_tools.put(tool)
    context.catalog.invalidate()
    context.loaders.forget_builtin_tool(tool.tool_name)
    return tool


async def set_builtin_tool_active(context: Context, name: str, is_active: bool) -> BuiltinTool:
    """Admin only: make a catalog entry available to agents, or not."""
    context.require_admin()
    if not name or len(name) > 64:
        raise NotFound("built-in tool", name)
    tool = await context.store.builtin_tools.set_active(name, is_active)
    context.catalog.invalidate()
    context.loaders.forget_builtin_tool(name)
    return tool
