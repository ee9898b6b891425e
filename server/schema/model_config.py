"""The model an agent or the main orchestrator runs on."""

from __future__ import annotations

from typing import Any

import strawberry

__all__ = ["ModelConfig", "ModelConfigInput"]


@strawberry.type
class ModelConfig:
    region: str
    model_id: str

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ModelConfig:
        model = config.get("model") or {}
        return cls(region=str(model.get("region", "")), model_id=str(model.get("model_id", "")))


@strawberry.input
class ModelConfigInput:
    region: str
    model_id: str
