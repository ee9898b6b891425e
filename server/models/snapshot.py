"""A deployment's snapshot: the project's whole configuration, as the deployment's `config`.

The project, its main config, its agents and tools (each its stored config map with its `id`
first) and its env vars sorted by key, secret values left out. Deployments written before, or
by other programs, read as leniently as the configs in them (`StoredConfig`).
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import Field

from server.models.agent import Agent, AgentConfig
from server.models.config import StoredConfig
from server.models.env_var import EnvVar
from server.models.main_config import MainConfig, OrchestratorConfig
from server.models.project import Project
from server.models.tool import Tool, ToolConfig

__all__ = ["Snapshot", "SnapshotAgent", "SnapshotProject", "SnapshotTool", "SnapshotVariable"]


class SnapshotProject(StoredConfig):
    id: str = ""
    name: str = ""
    description: str = ""


class _Identified(StoredConfig):
    # A base of its own, after the config in the bases, so that `id` comes first.
    id: str = ""


class SnapshotAgent(AgentConfig, _Identified):
    """An agent's config map with its id."""


class SnapshotTool(ToolConfig, _Identified):
    """A tool's config map with its id."""


class SnapshotVariable(StoredConfig):
    key: str = ""
    value: str | None = None  # None for a secret
    secret: bool = False


class Snapshot(StoredConfig):
    project: SnapshotProject | None = None
    main_config: OrchestratorConfig | None = Field(default=None, alias="mainConfig")
    agents: list[SnapshotAgent] = Field(default_factory=list)
    tools: list[SnapshotTool] = Field(default_factory=list)
    env: list[SnapshotVariable] = Field(default_factory=list)

    @classmethod
    def of(
        cls,
        project: Project,
        main: MainConfig | None,
        agents: Sequence[Agent],
        tools: Sequence[Tool],
        variables: Sequence[EnvVar],
    ) -> Snapshot:
        """The snapshot of `project` with these children, secret values left out."""
        return cls(
            project=SnapshotProject(
                id=project.project_id, name=project.name, description=project.description
            ),
            mainConfig=main.config if main is not None else None,
            agents=[
                SnapshotAgent.model_validate({"id": agent.agent_id, **agent.config.stored()})
                for agent in agents
            ],
            tools=[
                SnapshotTool.model_validate({"id": tool.tool_id, **tool.config.stored()})
                for tool in tools
            ],
            env=[
                SnapshotVariable(
                    key=variable.key,
                    value=None if variable.secret else variable.value,
                    secret=variable.secret,
                )
                for variable in sorted(variables, key=lambda variable: variable.key)
            ],
        )

    def secret_keys(self) -> set[str]:
        return {variable.key for variable in self.env if variable.secret}
