"""A built-in tool of the admin-curated catalog (the seed's Built-in Tools table)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import StringConstraints

from server.models.base import Description, InputModel, Name, Record
from server.models.json_schema import InputSchema

__all__ = ["BuiltinTool", "BuiltinToolSpec", "ToolName"]

ToolName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Label = Annotated[str, Name(max_length=64)]


class BuiltinTool(Record):
    tool_name: str
    description: str = ""
    type: str = ""
    input_schema: dict[str, Any]
    category: str = ""
    is_active: bool = True


class BuiltinToolSpec(InputModel):
    """A catalog entry as an admin or the shipped catalog gives it."""

    name: ToolName
    description: Description
    type: Label
    input_schema: InputSchema
    category: Label
    is_active: bool = True

    def to_record(self) -> BuiltinTool:
        return BuiltinTool(
            tool_name=self.name,
            description=self.description,
            type=self.type,
            input_schema=self.input_schema,
            category=self.category,
            is_active=self.is_active,
        )
