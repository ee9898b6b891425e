"""The project's main orchestrator: the seed's Main Agent Configuration item."""

from __future__ import annotations

from typing import Any

from server.models.agent import ModelConfigInput, SystemPrompt
from server.models.base import Description, DisplayName, ExpectedVersion, InputModel, Record

__all__ = ["MainConfig", "MainConfigSpec", "main_config_id"]


def main_config_id(project_id: str) -> str:
    return f"project-{project_id}"


class MainConfig(Record):
    user_id: str
    config_id: str
    project_id: str
    config: dict[str, Any]
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

    def to_config(self) -> dict[str, Any]:
        """The seed's Main Agent Config JSON Structure."""
        return {
            "name": self.name,
            "description": self.description,
            "system_prompt": self.system_prompt,
            "model": self.model.to_config(),
        }
