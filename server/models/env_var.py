"""Environment variables: one item per key, `envId` = `project-{projectId}-{key}`."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, StringConstraints

from server.models.base import FreeText, InputModel, Record

__all__ = ["EnvVar", "EnvVarSpec", "env_id"]

MAX_VALUE_BYTES = 32 * 1024


def env_id(project_id: str, key: str) -> str:
    return f"project-{project_id}-{key}"


def _fits(value: str) -> str:
    if len(value.encode("utf-8")) > MAX_VALUE_BYTES:
        raise ValueError(f"must be at most {MAX_VALUE_BYTES} bytes (32 KiB) as UTF-8")
    return value


EnvKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")]
EnvValue = Annotated[str, FreeText(), AfterValidator(_fits)]


class EnvVar(Record):
    user_id: str
    env_id: str
    project_id: str
    key: str
    value: str
    # Not in the seed: a secret's value is write-only through the API.
    secret: bool = False
    created_at: str
    updated_at: str


class EnvVarSpec(InputModel):
    key: EnvKey
    value: EnvValue
    secret: bool = False
