"""The Built-in Tools table: `toolName` (partition), shared by all users, written by admins."""

from __future__ import annotations

from collections.abc import Sequence

from server.errors import NotFound
from server.models import BuiltinTool
from server.store.dynamo import ConditionFailed, Dynamo
from server.store.expressions import Attr, Update
from server.store.usage import Quota

__all__ = ["BuiltinToolStore"]

CATALOG = Quota("BUILTIN_TOOLS", "the built-in tool catalog", "tools")
EXISTS = Attr("toolName").exists()


class BuiltinToolStore:
    def __init__(self, dynamo: Dynamo, table: str) -> None:
        self._dynamo = dynamo
        self._table = table

    async def list_all(self) -> list[BuiltinTool]:
        """The whole catalog, active or not, sorted by name."""
        tools = [BuiltinTool.model_validate(item) async for item in self._dynamo.scan(self._table)]
        tools.sort(key=lambda tool: tool.tool_name)
        return tools

    async def get(self, name: str) -> BuiltinTool | None:
        item = await self._dynamo.get_item(self._table, {"toolName": name})
        return BuiltinTool.model_validate(item) if item is not None else None

    async def get_many(self, names: Sequence[str]) -> list[BuiltinTool | None]:
        """One value per name, in order; None where there is no such tool."""
        items = await self._dynamo.batch_get(self._table, [{"toolName": name} for name in names])
        found = {item["toolName"]: BuiltinTool.model_validate(item) for item in items}
        return [found.get(name) for name in names]

    async def put(self, tool: BuiltinTool) -> None:
        """Create or replace `tool`; `QuotaExceeded` for a new name once the catalog holds
        `BUILTIN_TOOLS` tools.

        The count is a consistent Scan before the write: two admins adding different names at
        the same moment can pass the quota by one each (admins are few, the catalog small).
        """
        try:
            await self._dynamo.put_item(self._table, tool.to_item(), condition=EXISTS)
            return
        except ConditionFailed:
            pass  # a new name
        if await self._count() >= CATALOG.limit:
            raise CATALOG.exceeded()
        await self._dynamo.put_item(self._table, tool.to_item())

    async def _count(self) -> int:
        return len([item async for item in self._dynamo.scan(self._table, consistent=True)])

    async def set_active(self, name: str, is_active: bool) -> BuiltinTool:
        try:
            item = await self._dynamo.update_item(
                self._table,
                {"toolName": name},
                Update().set(Attr("isActive"), is_active),
                condition=EXISTS,
            )
        except ConditionFailed:
            raise NotFound("built-in tool", name) from None
        return BuiltinTool.model_validate(item)

    async def put_many(self, tools: Sequence[BuiltinTool]) -> None:
        await self._dynamo.batch_write(self._table, puts=[tool.to_item() for tool in tools])
