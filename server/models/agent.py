"""Agents, and the model settings they share with the main orchestrator.

The stored `config` map is the seed's Agent Config JSON Structure (`AgentConfig`, snake_case);
inputs use the GraphQL names, so validation errors name the field the client wrote.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from server import quotas
from server.models.base import Description, DisplayName, FreeText, InputModel, Patch, Record
from server.models.builtin_tool import ToolName
from server.models.config import ModelSettings, Stored, StoredConfig, StoredEnum

__all__ = [
    "Agent",
    "AgentConfig",
    "AgentPatch",
    "AgentType",
    "MAX_SYSTEM_PROMPT",
    "ModelConfigInput",
    "NewAgent",
    "SystemPrompt",
]


MAX_SYSTEM_PROMPT = 100_000
SystemPrompt = Annotated[str, FreeText(min_length=1, max_length=MAX_SYSTEM_PROMPT)]
Region = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d{1,2}$")]
ModelId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:/-]{1,256}$")]


class AgentType(Enum):
    AGENT_TOOL = "agent_tool"


def _distinct_at_most(quota: str) -> Callable[[list[str]], list[str]]:
    """A check of tool names: no repeats, and at most `server.quotas.{quota}` of them (every
    one is an item of the transaction that writes the agent, which holds at most 100)."""

    def check(names: list[str]) -> list[str]:
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"names repeat: {', '.join(repeated)}")
        limit: int = getattr(quotas, quota)
        if len(names) > limit:
            raise ValueError(f"at most {limit} tools ({quota})")
        return names

    return check


ToolNames = Annotated[list[ToolName], AfterValidator(_distinct_at_most("TOOLS_PER_AGENT"))]
BuiltinToolNames = Annotated[
    list[ToolName], AfterValidator(_distinct_at_most("BUILTIN_TOOLS_PER_AGENT"))
]


class ModelConfigInput(InputModel):
    region: Region
    model_id: ModelId

    def to_settings(self) -> ModelSettings:
        return ModelSettings(region=self.region, model_id=self.model_id)


class AgentConfig(StoredConfig):
    """The seed's Agent Config JSON Structure."""

    name: str = ""
    description: str = ""
    type: Annotated[AgentType, StoredEnum] = AgentType.AGENT_TOOL
    system_prompt: str = ""
    tools: list[str] = Field(default_factory=list)
    builtin_tools: list[str] = Field(default_factory=list)
    model: ModelSettings = Field(default_factory=ModelSettings)


class Agent(Record):
    user_id: str
    agent_id: str
    project_id: str
    name: str
    config: Stored[AgentConfig]
    version: int = 1
    created_at: str
    updated_at: str
    # Not in the seed: the ids of the tools `config.tools` names, in the same order, so that
    # `agent.tools` reads them by key. A used tool can be neither renamed nor deleted, so the
    # ids stay right; agents written by other programs have none (None), and a list that no
    # longer matches the names is not believed (`server.resolvers.agent.tools_of`).
    tool_ids: list[str] | None = None

    @property
    def tool_names(self) -> list[str]:
        return list(self.config.tools)

    @property
    def builtin_tool_names(self) -> list[str]:
        return list(self.config.builtin_tools)


class NewAgent(InputModel):
    name: DisplayName
    description: Description = ""
    type: AgentType = AgentType.AGENT_TOOL
    system_prompt: SystemPrompt
    tool_names: ToolNames = Field(default_factory=list)
    builtin_tool_names: BuiltinToolNames = Field(default_factory=list)
    model: ModelConfigInput

    def to_config(self) -> AgentConfig:
        return AgentConfig(
            name=self.name,
            description=self.description,
            type=self.type,
            system_prompt=self.system_prompt,
            tools=list(self.tool_names),
            builtin_tools=list(self.builtin_tool_names),
            model=self.model.to_settings(),
        )


class AgentPatch(Patch):
    name: DisplayName | None = None
    description: Description | None = None
    type: AgentType | None = None
    system_prompt: SystemPrompt | None = None
    tool_names: ToolNames | None = None
    builtin_tool_names: BuiltinToolNames | None = None
    model: ModelConfigInput | None = None

    def apply(self, config: AgentConfig) -> AgentConfig:
        """`config` with this patch's fields replaced; every other key of the stored map is
        kept, the seed's and those other programs wrote alike."""
        fields = {_CONFIG_FIELDS.get(field, field): value for field, value in self.given().items()}
        if self.model is not None:
            fields["model"] = self.model.to_settings()
        return config.model_copy(update=fields)


# The fields of `AgentConfig` that an input field of another name sets.
_CONFIG_FIELDS = {"tool_names": "tools", "builtin_tool_names": "builtin_tools"}
