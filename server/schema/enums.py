"""The contract's enums: the models' own, registered with strawberry.

Their values are the stored lower-case strings; GraphQL shows the member names.
"""

from __future__ import annotations

import strawberry

from server.models import AgentType, DeploymentStatus, ToolType

__all__ = ["AgentType", "DeploymentStatus", "ToolType"]

strawberry.enum(AgentType)
strawberry.enum(ToolType)
strawberry.enum(
    DeploymentStatus,
    description="Stored as the lower-case strings pending, deploying, success, failed.",
)
