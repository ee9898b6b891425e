"""The seed's seven tables and their keys, as the design document gives them."""

from __future__ import annotations

__all__ = ["SEED_KEYS"]

# Suffix → (partition key, sort key); written out here, not read from `server.store.tables`.
SEED_KEYS: dict[str, tuple[str, str | None]] = {
    "projects": ("userId", "projectId"),
    "agents": ("userId", "agentId"),
    "tools": ("userId", "toolId"),
    "main-config": ("userId", "configId"),
    "environment": ("userId", "envId"),
    "deployments": ("userId", "deploymentId"),
    "builtin-tools": ("toolName", None),
}
