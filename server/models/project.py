"""A project: the seed's Projects table item, and the inputs that create and change it."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import Field

from server import quotas
from server.models.base import Description, DisplayName, InputModel, Patch, Record
from server.models.deployment import Deployment, DeploymentSummary

__all__ = ["NewProject", "Project", "ProjectPatch", "newest_ids", "recent_deployments"]


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
    # cascade under way, after which no child may be added; `recentDeployments` summarizes the
    # newest deployments, newest first (`recent_deployments`), None where it is absent.
    version: int = 1
    active_deployment_id: str | None = None
    deleting: str | None = None
    recent_deployments: list[DeploymentSummary] | None = None
    created_at: str
    updated_at: str

    def trusted_recent_deployments(self) -> list[DeploymentSummary] | None:
        """`recentDeployments` if it summarizes exactly the newest ids of `deploymentIds`,
        newest first; None otherwise (absent, or out of step with a list that a program not
        knowing it changed), so that a summary that may be wrong is never believed."""
        recent = self.recent_deployments
        if recent is None or [s.deployment_id for s in recent] != newest_ids(self.deployment_ids):
            return None
        return recent

    def listed_deployments(self, count: int | None) -> list[Deployment] | None:
        """The newest `count` deployments (None: all), newest first, without config and logs,
        from the trusted summary; None when it cannot tell (no trusted summary, or more are
        asked for than it holds of a longer history)."""
        recent = self.trusted_recent_deployments()
        if recent is None:
            return None
        whole = len(recent) == len(self.deployment_ids)
        if not whole and (count is None or count > len(recent)):
            return None
        return [entry.deployment(self.user_id, self.project_id) for entry in recent[:count]]


def newest_ids(deployment_ids: list[str]) -> list[str]:
    """The ids a project's `recentDeployments` summarizes: the newest `RECENT_DEPLOYMENTS` of
    its `deploymentIds` (oldest first), newest first."""
    return deployment_ids[::-1][: quotas.RECENT_DEPLOYMENTS]


def recent_deployments(
    deployment_ids: list[str], known: Mapping[str, DeploymentSummary]
) -> list[DeploymentSummary] | None:
    """The `recentDeployments` of a project whose `deploymentIds` is `deployment_ids`, from the
    summaries `known` by id; None when one is unknown (an id without its item) or listed twice,
    as only lists written by other programs can be: then no summary is kept, and listings read
    the deployments by id."""
    ids = newest_ids(deployment_ids)
    if len(set(ids)) != len(ids) or not all(id_ in known for id_ in ids):
        return None
    return [known[id_] for id_ in ids]


class NewProject(InputModel):
    name: DisplayName
    description: Description = ""


class ProjectPatch(Patch):
    name: DisplayName | None = None
    description: Description | None = None
