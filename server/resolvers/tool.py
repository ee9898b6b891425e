"""Custom tools: the seed's access patterns for the Tools table, names unique per user."""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.errors import NotFound
from server.models import NewTool, Tool, ToolPatch, is_key, new_id, now_iso
from server.resolvers.revision import revised
from server.store import settle
from server.store.lookup import existing

if TYPE_CHECKING:
    from server.context import Context

__all__ = ["create_tool", "delete_tool", "get_tool", "update_tool"]


async def get_tool(context: Context, tool_id: str) -> Tool | None:
    if not is_key(tool_id):
        return None
    return await context.loaders.tool_by_id.load((context.user_id, tool_id))


async def create_tool(context: Context, project_id: str, new: NewTool) -> Tool:
    """Put the tool and its name reservation, append it to the project's toolIds, together."""
    if not is_key(project_id):
        raise NotFound("project", project_id)
    now = now_iso()
    tool = Tool(
        user_id=context.user_id,
        tool_id=new_id(),
        project_id=project_id,
        name=new.name,
        config=new.to_config(),
        created_at=now,
        updated_at=now,
    )
    await context.store.tools.create(tool)
    context.loaders.forget_tool(tool.user_id, tool.tool_id, tool.project_id)
    return tool


async def update_tool(context: Context, tool_id: str, patch: ToolPatch) -> Tool:
    async def attempt() -> Tool:
        old = await _current(context, tool_id)
        new = revised(
            old,
            patch.apply(old.config),
            version=old.version,
            expected=patch.expected_version,
            names=f"tool {tool_id!r}",
        )
        await context.store.tools.replace(old, new)
        return new

    tool = await settle(attempt)
    context.loaders.forget_tool(tool.user_id, tool.tool_id, tool.project_id)
    return tool


async def delete_tool(context: Context, tool_id: str) -> str:
    """Delete the tool and its name reservation, drop it from toolIds; CONFLICT while used."""

    async def attempt() -> Tool:
        tool = await _current(context, tool_id)
        project = await context.store.projects.get(
            context.user_id, tool.project_id, consistent=True
        )
        await context.store.tools.remove(tool, project)
        return tool

    tool = await settle(attempt)
    context.loaders.forget_tool(tool.user_id, tool.tool_id, tool.project_id)
    return tool_id


async def _current(context: Context, tool_id: str) -> Tool:
    return await existing(context.store.tools, context.user_id, tool_id, "tool")
