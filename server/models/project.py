"""A project: the seed's Projects table item, and the inputs that create and change it."""

from __future__ import annotations

from pydantic import Field, field_validator

from server.models.base import Description, DisplayName, InputModel, Record

__all__ = ["NewProject", "Project", "ProjectPatch"]


class Project(Record):
    user_id: str
    project_id: str
    name: str
    description: str = ""
    agent_ids: list[str] = Field(default_factory=list)
    tool_ids: list[str] = Field(default_factory=list)
    main_agent_config: str | None = None
    env_ids: list[str] = Field(default_factory=list)
    deployment_ids: list[str] = Field(default_factory=list)
    # Not in the seed: items written by other programs have none and count as version 1.
    version: int = 1
    created_at: str
    updated_at: str


class NewProject(InputModel):
    name: DisplayName
    description: Description = ""


class ProjectPatch(InputModel):
    """Fields left out keep their value; `expected_version` guards against lost updates."""

    name: DisplayName | None = None
    description: Description | None = None
    expected_version: int | None = Field(default=None, ge=1)

    @field_validator("name", "description", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Runs only on values the client gave: an explicit null is an error, not "keep".
        if value is None:
            raise ValueError("must not be null; leave the field out to keep its value")
        return value

    def changes(self) -> dict[str, str]:
        """The stored attributes this patch sets."""
        return {
            name: value
            for name, value in (("name", self.name), ("description", self.description))
            if value is not None
        }
