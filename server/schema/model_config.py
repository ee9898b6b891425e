"""The model an agent or the main orchestrator runs on."""

from __future__ import annotations

import strawberry

from server import models

__all__ = ["ModelConfig", "ModelConfigInput"]


@strawberry.type
class ModelConfig:
    region: str
    model_id: str

    @classmethod
    def from_settings(cls, settings: models.ModelSettings) -> ModelConfig:
        return cls(region=settings.region, model_id=settings.model_id)


@strawberry.input
class ModelConfigInput:
    region: str
    model_id: str
