"""Lazy references to the schema's types, for the fields of types that refer to each other
(a project's agents, an agent's project): each resolves when the schema is built."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

if TYPE_CHECKING:
    from server.schema.agent import Agent
    from server.schema.deployment import Deployment
    from server.schema.env_var import EnvVar
    from server.schema.main_config import MainAgentConfig
    from server.schema.project import Project
    from server.schema.tool import Tool

__all__ = ["AgentRef", "DeploymentRef", "EnvVarRef", "MainConfigRef", "ProjectRef", "ToolRef"]

AgentRef = Annotated["Agent", strawberry.lazy("server.schema.agent")]
DeploymentRef = Annotated["Deployment", strawberry.lazy("server.schema.deployment")]
EnvVarRef = Annotated["EnvVar", strawberry.lazy("server.schema.env_var")]
MainConfigRef = Annotated["MainAgentConfig", strawberry.lazy("server.schema.main_config")]
ProjectRef = Annotated["Project", strawberry.lazy("server.schema.project")]
ToolRef = Annotated["Tool", strawberry.lazy("server.schema.tool")]
