"""The main orchestrator config: the type and `setMainConfig`."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON

from server import models
from server.models import MainConfigSpec, parse_input
from server.resolvers import main_config as resolvers
from server.schema.info import Info
from server.schema.inputs import input_data
from server.schema.model_config import ModelConfig, ModelConfigInput
from server.schema.scalars import DateTime

__all__ = ["MainAgentConfig", "MainConfigMutation"]


@strawberry.type
class MainAgentConfig:
    id: strawberry.ID = strawberry.field(description="project-{projectId}")
    project_id: strawberry.ID
    name: str
    description: str
    system_prompt: str
    model: ModelConfig
    config: JSON
    version: int
    created_at: DateTime
    updated_at: DateTime

    @classmethod
    def from_model(cls, main: models.MainConfig) -> MainAgentConfig:
        config = main.config
        return cls(
            id=strawberry.ID(main.config_id),
            project_id=strawberry.ID(main.project_id),
            name=str(config.get("name", "")),
            description=str(config.get("description", "")),
            system_prompt=str(config.get("system_prompt", "")),
            model=ModelConfig.from_config(config),
            config=JSON(config),
            version=main.version,
            created_at=DateTime(main.created_at),
            updated_at=DateTime(main.updated_at),
        )


@strawberry.input
class MainAgentConfigInput:
    name: str
    description: str = ""
    system_prompt: str
    model: ModelConfigInput
    expected_version: int | None = strawberry.UNSET


@strawberry.type
class MainConfigMutation:
    @strawberry.mutation(
        description="Creates or replaces the project's main orchestrator configuration."
    )
    async def set_main_config(
        self, info: Info, project_id: strawberry.ID, input: MainAgentConfigInput
    ) -> MainAgentConfig:
        spec = parse_input(MainConfigSpec, input_data(input))
        return MainAgentConfig.from_model(
            await resolvers.set_main_config(info.context, project_id, spec)
        )
