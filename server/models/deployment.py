"""Deployments: a snapshot of the whole configuration moving through its lifecycle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Annotated, Any

from pydantic import Field, StringConstraints, ValidationInfo, field_serializer, field_validator

from server.models.base import InputModel, Record, iso_time, new_id, now_iso

__all__ = [
    "LEASE",
    "MAX_LEASE_SECONDS",
    "MAX_LOG_LINES",
    "Deployment",
    "DeploymentStatus",
    "DeploymentSummary",
    "StatusUpdate",
    "lease_until",
]

MAX_LOG_LINES = 1000
# How long a DEPLOYING deployment may go without news before it counts as abandoned.
LEASE = timedelta(seconds=60)
# The longest step an external pipeline may announce with `leaseSeconds`.
MAX_LEASE_SECONDS = 3600
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
    # Not in the seed: while DEPLOYING, when the deployment is failed unless something renews
    # it (a status change, a log line, a heartbeat). Absent on items written before leases.
    lease_expires_at: str | None = None

    @classmethod
    def pending(
        cls, user_id: str, project_id: str, config: dict[str, Any], first_line: str
    ) -> Deployment:
        """A new PENDING deployment of `config`, its log opened with `first_line`."""
        now = now_iso()
        return cls(
            user_id=user_id,
            deployment_id=new_id(),
            project_id=project_id,
            status=DeploymentStatus.PENDING,
            config=config,
            logs=[f"{now} {first_line}"],
            created_at=now,
            updated_at=now,
        )

    def to_item(self) -> dict[str, Any]:
        item = super().to_item()
        item["status"] = self.status.value
        return item

    def lease_ended(self, now: datetime) -> bool:
        """Whether this DEPLOYING deployment's lease ended before `now`; items written before
        leases count from `updatedAt` + `LEASE`, and times that cannot be read count as ended
        (nothing of this server has renewed them)."""
        if self.status is not DeploymentStatus.DEPLOYING:
            return False
        try:
            if self.lease_expires_at is not None:
                return _utc(self.lease_expires_at) < now
            return _utc(self.updated_at) + LEASE < now
        except ValueError:
            return True


class DeploymentSummary(Record):
    """What a listing shows of a deployment, as one entry of its project's `recentDeployments`
    (not in the seed): written in the same transactions as the deployment item, so that the
    newest deployments are listed from the project item without reading theirs."""

    deployment_id: str
    status: DeploymentStatus
    version: int = 1
    created_at: str
    updated_at: str
    error: str | None = None  # absent until there is one, as on the deployment item

    @field_serializer("status")
    def _stored_status(self, status: DeploymentStatus) -> str:
        return status.value

    @classmethod
    def of(cls, deployment: Deployment) -> DeploymentSummary:
        return cls(
            deployment_id=deployment.deployment_id,
            status=deployment.status,
            version=deployment.version,
            created_at=deployment.created_at,
            updated_at=deployment.updated_at,
            error=deployment.error,
        )

    def deployment(self, user_id: str, project_id: str) -> Deployment:
        """The deployment as a listing reads it: without config, logs and lease."""
        return Deployment(
            user_id=user_id,
            deployment_id=self.deployment_id,
            project_id=project_id,
            status=self.status,
            error=self.error,
            version=self.version,
            created_at=self.created_at,
            updated_at=self.updated_at,
        )


def _utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def lease_until(now: datetime, seconds: float) -> str:
    """When a lease taken at `now` for `seconds` ends, as stored."""
    return iso_time(now + timedelta(seconds=seconds))


class StatusUpdate(InputModel):
    """A move of a deployment along its lifecycle, as an admin, its owner (a cancel) or the
    worker asks for it: the new status, its error, log lines, and the lease while DEPLOYING."""

    status: DeploymentStatus
    # Like the log lines, written out rather than refused where it holds control characters.
    error: Annotated[str, StringConstraints(max_length=4000)] | None = None
    append_logs: list[LogLine] = Field(default_factory=list, max_length=MAX_LOG_LINES)
    # How long the DEPLOYING deployment may go without news from now (default: the lease).
    lease_seconds: Annotated[int, Field(ge=1, le=MAX_LEASE_SECONDS)] | None = None

    @field_validator("lease_seconds")
    @classmethod
    def _only_while_deploying(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is not None and info.data.get("status") is not DeploymentStatus.DEPLOYING:
            raise ValueError("only a DEPLOYING deployment holds a lease")
        return value
