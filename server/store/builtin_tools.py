"""The Built-in Tools table: `toolName` (partition), shared by all users, written by admins."""

from __future__ import annotations

from collections.abc import Sequence

from server.models import BuiltinTool
from server.store.dynamo import Dynamo

__all__ = ["BuiltinToolStore"]


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

    async def put_many(self, tools: Sequence[BuiltinTool]) -> None:
        await self._dynamo.batch_write(self._table, puts=[tool.to_item() for tool in tools])
