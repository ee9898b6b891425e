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
from server.schema.stored_config import stored_config

__all__ = ["MainAgentConfig", "MainConfigMutation"]


@strawberry.type
class MainAgentConfig:
    id: strawberry.ID = strawberry.field(description="project-{projectId}")
    project_id: strawberry.ID
    name: str
    description: str
    system_prompt: str
    model: ModelConfig

    config: JSON = strawberry.field(resolver=stored_config)
    version: int
    created_at: DateTime
    updated_at: DateTime
    record: strawberry.Private[models.MainConfig]

    @classmethod
    def from_model(cls, main: models.MainConfig) -> MainAgentConfig:
        config = main.config
        return cls(
            id=strawberry.ID(main.config_id),
            project_id=strawberry.ID(main.project_id),
            name=config.name,
            description=config.description,
            system_prompt=config.system_prompt,
            model=ModelConfig.from_settings(config.model),
            version=main.version,
            created_at=DateTime(main.created_at),
            updated_at=DateTime(main.updated_at),
            record=main,
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
