"""Checking a project's `recentDeployments` against the deployment items it summarizes."""

from __future__ import annotations

from typing import Any

from server import quotas
from server.store import Store

__all__ = ["SUMMARIZED", "assert_summary_exact", "project_item"]

# What the summary holds of each deployment item, as the item holds it.
SUMMARIZED = ("deploymentId", "status", "version", "createdAt", "updatedAt", "error")


async def project_item(store: Store, user_id: str, project_id: str) -> dict[str, Any]:
    item = await store.dynamo.get_item(
        store.tables.projects, {"userId": user_id, "projectId": project_id}, consistent=True
    )
    assert item is not None
    return item


async def assert_summary_exact(store: Store, user_id: str, project_id: str) -> list[dict[str, Any]]:
    """The project's `recentDeployments` is there and holds, newest first, what the items of
    its newest `RECENT_DEPLOYMENTS` deployments hold, all of which exist; returns it."""
    project = await project_item(store, user_id, project_id)
    newest = project.get("deploymentIds", [])[::-1][: quotas.RECENT_DEPLOYMENTS]
    items = [
        await store.dynamo.get_item(
            store.tables.deployments,
            {"userId": user_id, "deploymentId": deployment_id},
            consistent=True,
        )
        for deployment_id in newest
    ]
    assert None not in items
    expected = [  # items written without a version (by other programs) are at version 1
        {"version": 1, **{key: item[key] for key in SUMMARIZED if key in item}}
        for item in items
        if item is not None
    ]
    assert project.get("recentDeployments") == expected
    summary: list[dict[str, Any]] = project["recentDeployments"]
    return summary
