"""Built-in tools: the admin-curated catalog every user reads."""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.models import BuiltinTool

if TYPE_CHECKING:
    from server.context import Context

__all__ = ["get_builtin_tool", "list_builtin_tools"]


async def list_builtin_tools(
    context: Context, *, category: str | None, include_inactive: bool
) -> list[BuiltinTool]:
    """List the catalog (Scan), active tools only unless `include_inactive`."""
    return [
        tool
        for tool in await context.store.builtin_tools.list_all()
        if (include_inactive or tool.is_active) and category in (None, tool.category)
    ]


async def get_builtin_tool(context: Context, name: str) -> BuiltinTool | None:
    """Get one built-in tool by toolName, active or not."""
    if not name or len(name) > 64:
        return None
    return await context.store.builtin_tools.get(name)
