"""A project: the seed's Projects table item, and the inputs that create and change it."""

from __future__ import annotations

from pydantic import Field

from server.models.base import Description, DisplayName, InputModel, Patch, Record

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
    # Not in the seed. Items written by other programs have no version and count as version 1;
    # `activeDeploymentId` holds the one PENDING/DEPLOYING deployment; `deleting` marks a
    # cascade under way, after which no child may be added.
    version: int = 1
    active_deployment_id: str | None = None
    deleting: str | None = None
    created_at: str
    updated_at: str


class NewProject(InputModel):
    name: DisplayName
    description: Description = ""


class ProjectPatch(Patch):
    name: DisplayName | None = None
    description: Description | None = None
