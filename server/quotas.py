"""Per-account quotas: how many of each thing one user may have.

They bound every list the API can return, so that the cost of a query can be estimated before
it runs (`server/schema/cost.py`) and no account can grow a list without limit. Creating past a
quota is refused with `QUOTA_EXCEEDED`, except for deployments, of which the newest are kept.
"""

from __future__ import annotations

__all__ = [
    "AGENTS_PER_PROJECT",
    "AGENTS_PER_USER",
    "BUILTIN_TOOLS",
    "BUILTIN_TOOLS_PER_AGENT",
    "DEFAULT_DEPLOYMENTS_PER_LISTING",
    "DEPLOYMENTS_PER_LISTING",
    "DEPLOYMENTS_PER_PROJECT",
    "ENV_VARS_PER_PROJECT",
    "ENV_VARS_PER_USER",
    "PROJECTS_PER_USER",
    "RECENT_DEPLOYMENTS",
    "TOOLS_PER_AGENT",
    "TOOLS_PER_PROJECT",
    "TOOLS_PER_USER",
]

PROJECTS_PER_USER = 200

AGENTS_PER_PROJECT = 50
TOOLS_PER_PROJECT = 100
ENV_VARS_PER_PROJECT = 100

# Account-wide: without these, a Dashboard of every project's children would grow with
# projects x children per project.
AGENTS_PER_USER = 200
TOOLS_PER_USER = 500
ENV_VARS_PER_USER = 500

# Each is an item of the transaction that writes the agent, which DynamoDB limits to 100 items.
TOOLS_PER_AGENT = 32
BUILTIN_TOOLS_PER_AGENT = 32

# The admin-curated catalog.
BUILTIN_TOOLS = 200

# `Project.deployments(limit)` returns `limit` (default 20), at most this many.
DEFAULT_DEPLOYMENTS_PER_LISTING = 20
DEPLOYMENTS_PER_LISTING = 100

# The deployment history a project keeps (`deploymentIds` lists it): not refused but kept,
# since no mutation deletes a deployment; creating one past it deletes the oldest
# (`DeploymentStore.create`). An account's history is bounded by its projects only.
DEPLOYMENTS_PER_PROJECT = 100

# The newest deployments a project item summarizes (`recentDeployments`, not in the seed), so
# that `deployments(limit)` up to this many and `latestDeployment` read no deployment item.
RECENT_DEPLOYMENTS = 10
