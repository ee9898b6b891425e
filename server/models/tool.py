"""Custom tools: a JSON-Schema input plus code, or a front-end action.

The stored `config` map is the seed's Tool Config JSON Structure (`ToolConfig`): `name`,
`description`, `type` (`frontend_action` or `code`), `inputSchema`, and `code` for code tools
only.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any

from pydantic import Field

from server.errors import BadUserInput
from server.models.base import Description, FreeText, InputModel, Patch, Record
from server.models.builtin_tool import ToolName
from server.models.config import Stored, StoredConfig, StoredEnum
from server.models.json_schema import InputSchema

__all__ = [
    "MAX_CODE",
    "NewTool",
    "Tool",
    "ToolConfig",
    "ToolPatch",
    "ToolType",
    "name_reservation_id",
]

MAX_CODE = 200_000
Code = Annotated[str, FreeText(max_length=MAX_CODE)]


class ToolType(Enum):
    FRONTEND_ACTION = "frontend_action"
    CODE = "code"


def name_reservation_id(name: str) -> str:
    """The sort key of the item that reserves a tool name in the user's partition."""
    return f"name#{name}"


class ToolConfig(StoredConfig):
    """The seed's Tool Config JSON Structure."""

    name: str = ""
    description: str = ""
    type: Annotated[ToolType, StoredEnum] = ToolType.CODE
    input_schema: dict[str, Any] = Field(default_factory=dict, alias="inputSchema")
    code: str | None = None  # code tools only: absent from front-end actions


class Tool(Record):
    user_id: str
    tool_id: str
    project_id: str
    name: str
    config: Stored[ToolConfig]
    # Not in the seed: the ids of the agents whose toolNames list this tool, kept as a string
    # set in the same transactions that write those agents.
    used_by: list[str] = Field(default_factory=list)
    version: int = 1
    created_at: str
    updated_at: str

    def to_item(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True, exclude={"used_by"})


class NewTool(InputModel):
    name: ToolName
    description: Description = ""
    type: ToolType
    input_schema: InputSchema
    code: Code | None = None

    def to_config(self) -> ToolConfig:
        return tool_config(
            name=self.name,
            description=self.description,
            tool_type=self.type,
            input_schema=self.input_schema,
            code=self.code,
        )


class ToolPatch(Patch):
    name: ToolName | None = None
    description: Description | None = None
    type: ToolType | None = None
    input_schema: InputSchema | None = None
    code: Code | None = None

    def apply(self, config: ToolConfig) -> ToolConfig:
        """`config` with this patch's fields replaced, checked as a whole, and written afresh:
        keys of the seed's structure only.

        Making a tool a front-end action drops its code unless new code is given (and refused).
        """
        code = self.code if "code" in self.model_fields_set else config.code
        if self.type is ToolType.FRONTEND_ACTION and "code" not in self.model_fields_set:
            code = None
        return tool_config(
            name=self.name or config.name,
            description=self.description if self.description is not None else config.description,
            tool_type=self.type or config.type,
            input_schema=self.input_schema or config.input_schema,
            code=code,
        )


def tool_config(
    *,
    name: str,
    description: str,
    tool_type: ToolType,
    input_schema: dict[str, Any],
    code: str | None,
) -> ToolConfig:
    """The seed's Tool Config JSON Structure, after the rules that tie `code` to `type`."""
    if tool_type is ToolType.CODE and not code:
        raise BadUserInput("is required and non-empty for CODE tools", field="code")
    if tool_type is ToolType.FRONTEND_ACTION and code is not None:
        raise BadUserInput("must be null for FRONTEND_ACTION tools", field="code")
    config = ToolConfig(
        name=name, description=description, type=tool_type, inputSchema=input_schema
    )
    return config if code is None else config.model_copy(update={"code": code})
