"""Deployments: a snapshot of the whole configuration moving through its lifecycle."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from server.models.base import InputModel, Record

__all__ = [
    "MAX_LOG_LINES",
    "Deployment",
    "DeploymentStatus",
    "StatusChange",
]

MAX_LOG_LINES = 1000
LogLine = Annotated[str, StringConstraints(max_length=2000)]


class DeploymentStatus(Enum):
    PENDING = "pending"
    DEPLOYING = "deploying"
    SUCCESS = "success"
    FAILED = "failed"

    @property
    def is_active(self) -> bool:
        return self in (DeploymentStatus.PENDING, DeploymentStatus.DEPLOYING)

    def can_become(self, new: DeploymentStatus) -> bool:
        """PENDING → DEPLOYING → SUCCESS | FAILED, or PENDING/DEPLOYING → FAILED.

        Staying in an active status is allowed, so that log lines can be added on the way.
        """
        allowed = {
            DeploymentStatus.PENDING: {
                DeploymentStatus.PENDING,
                DeploymentStatus.DEPLOYING,
                DeploymentStatus.FAILED,
            },
            DeploymentStatus.DEPLOYING: {
                DeploymentStatus.DEPLOYING,
                DeploymentStatus.SUCCESS,
                DeploymentStatus.FAILED,
            },
        }
        return new in allowed.get(self, set())


class Deployment(Record):
    user_id: str
    deployment_id: str
    project_id: str
    status: DeploymentStatus
    # Listings read neither of these unless asked: None means "not read".
    config: dict[str, Any] | None = None
    logs: list[str] | None = None
    error: str | None = None
    # Not in the seed: grows with every change, so concurrent changes cannot lose log lines.
    version: int = 1
    created_at: str
    updated_at: str

    def to_item(self) -> dict[str, Any]:
        item = super().to_item()
        item["status"] = self.status.value
        return item


class StatusChange(InputModel):
    status: DeploymentStatus
    # Like the log lines, written out rather than refused where it holds control characters.
    error: Annotated[str, StringConstraints(max_length=4000)] | None = None
    append_logs: list[LogLine] = Field(default_factory=list, max_length=MAX_LOG_LINES)
