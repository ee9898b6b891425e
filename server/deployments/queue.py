"""What a request needs of what deploys on this instance: somewhere to submit new deployments.

With `DEPLOYER=validate` that is the `DeploymentWorker`; with `DEPLOYER=none` there is none,
and an external pipeline moves deployments along.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["DeploymentQueue"]


class DeploymentQueue(Protocol):
    def submit(self, user_id: str, deployment_id: str) -> None:
        """Queue the PENDING deployment to be deployed, unless it is queued already."""
        ...
