"""The project's main orchestrator: the seed's Main Agent Configuration item."""

from __future__ import annotations

from pydantic import Field

from server.models.agent import ModelConfigInput, SystemPrompt
from server.models.base import Description, DisplayName, ExpectedVersion, InputModel, Record
from server.models.config import ModelSettings, Stored, StoredConfig

__all__ = ["MainConfig", "MainConfigSpec", "OrchestratorConfig", "main_config_id"]


def main_config_id(project_id: str) -> str:
    return f"project-{project_id}"


class OrchestratorConfig(StoredConfig):
    """The seed's Main Agent Config JSON Structure: the main orchestrator's config map."""

    name: str = ""
    description: str = ""
    system_prompt: str = ""
    model: ModelSettings = Field(default_factory=ModelSettings)


class MainConfig(Record):
    user_id: str
    config_id: str
    project_id: str
    config: Stored[OrchestratorConfig]
    version: int = 1
    created_at: str
    updated_at: str


class MainConfigSpec(InputModel):
    """The whole main config, as `setMainConfig` creates or replaces it."""

    name: DisplayName
    description: Description = ""
    system_prompt: SystemPrompt
    model: ModelConfigInput
    expected_version: ExpectedVersion = None

    def to_config(self) -> OrchestratorConfig:
        return OrchestratorConfig(
            name=self.name,
            description=self.description,
            system_prompt=self.system_prompt,
            model=self.model.to_settings(),
        )
